// Draws the report's chart from the configuration the page embeds (json_script "report-chart-config").
(function () {
  "use strict";
  var source = document.getElementById("report-chart-config");
  var canvas = document.getElementById("report-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var config = JSON.parse(source.textContent);
  var stacked = !!config.stacked;
  var options = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } };
  if (config.type === "bar") {
    options.scales = { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } };
  }
  canvas.parentElement.style.height = "300px";
  window.otdelReportChart = new Chart(canvas, { type: config.type, data: config.data, options: options });
  canvas.dataset.ready = "1";
})();
