"""Test helpers of the telephony adapters: fake AMI and HTTP servers, transcripts, fixtures."""
