/* The repair reports' charts (ECharts from our own static folder). The figures come from
   <script type="application/json" id="repair-data">; a table beside every chart carries
   the same numbers. */
(function () {
  "use strict";
  var COLORS = ["#1d6b57", "#d9822b", "#4c78a8", "#b91c1c", "#9fc7bb", "#7c3aed", "#a16207", "#64748b"];

  function draw(el, data, locale) {
    var key = el.getAttribute("data-series");
    var chart = data[key];
    if (!chart || !chart.labels.length) { return; }
    var narrow = el.clientWidth < 480;
    var e = echarts.init(el, null, { locale: locale, renderer: "canvas" });
    e.setOption({
      animation: false,
      color: COLORS,
      // Drawn on the canvas: the HTML tooltip has style attributes, which the CSP refuses.
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: chart.labels,
               axisLabel: { interval: 0, rotate: narrow || chart.labels.length > 6 ? 45 : 0 } },
      yAxis: { type: "value", name: chart.unit || "", minInterval: chart.unit ? 0 : 1 },
      series: chart.series.map(function (s) {
        return {
          name: s.name, type: s.type, stack: chart.stack ? "all" : undefined, connectNulls: true,
          data: s.data.map(function (v) { return v === null ? null : Number(v); })
        };
      })
    });
    window.addEventListener("resize", function () { e.resize(); });
  }

  function start() {
    var source = document.getElementById("repair-data");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var charts = document.querySelectorAll(".repair-chart[data-series]");
    for (var i = 0; i < charts.length; i++) { draw(charts[i], data, data.locale); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
