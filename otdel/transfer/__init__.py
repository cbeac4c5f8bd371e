"""Moving in and out: import of CSV/XLSX and amoCRM/Bitrix24 exports, export of every CRM list."""
