/* The finance dashboard's charts (ECharts, served from our own static folder).
   The figures come from <script type="application/json" id="finance-data">; every chart has
   a plain table beside it with the same numbers, for screen readers and for printing. */
(function () {
  "use strict";

  function draw(el, data, names, locale) {
    var series = data[el.getAttribute("data-series")];
    if (!series || !series.labels.length) { return; }
    var num = function (values) {
      return values.map(function (v) { return v === null ? null : Number(v); });
    };
    var narrow = el.clientWidth < 480;
    var chart = echarts.init(el, null, { locale: locale, renderer: "canvas" });
    chart.setOption({
      animation: false,
      // Drawn on the canvas: the HTML tooltip has style attributes, which the CSP refuses.
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, data: [names.billed, names.collected, names.rate] },
      grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        data: series.labels,
        axisLabel: { interval: 0, rotate: narrow || series.labels.length > 6 ? 45 : 0 }
      },
      yAxis: [
        { type: "value", name: "¥", axisLabel: { formatter: function (v) { return v.toLocaleString(); } } },
        { type: "value", name: "%", min: 0, max: 100, splitLine: { show: false } }
      ],
      series: [
        { name: names.billed, type: "bar", data: num(series.billed), itemStyle: { color: "#9fc7bb" } },
        { name: names.collected, type: "bar", data: num(series.collected), itemStyle: { color: "#1d6b57" } },
        { name: names.rate, type: "line", yAxisIndex: 1, data: num(series.rate),
          itemStyle: { color: "#d9822b" }, connectNulls: true }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    var source = document.getElementById("finance-data");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var charts = document.querySelectorAll(".finance-chart[data-series]");
    for (var i = 0; i < charts.length; i++) {
      draw(charts[i], data, data.names, data.locale);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
