/* Chinese for the widgets Flask-Admin bundles without a locale: the select2 pickers and
   the date pickers (weeks start on Monday). Loaded with `defer`: it runs after the
   admin's scripts are loaded and before their document-ready handlers build the widgets. */
(function () {
  "use strict";
  var page = document.querySelector(".pa-admin");
  if (!page || page.lang.indexOf("zh") !== 0 || !window.jQuery) {
    return;
  }
  var $ = window.jQuery;

  if ($.fn.select2) {
    $.extend($.fn.select2.defaults, {
      formatNoMatches: function () { return "没有找到匹配项"; },
      formatInputTooShort: function (input, min) {
        return "请再输入 " + (min - input.length) + " 个字";
      },
      formatInputTooLong: function (input, max) {
        return "请删掉 " + (input.length - max) + " 个字";
      },
      formatSelectionTooBig: function (limit) { return "最多只能选择 " + limit + " 项"; },
      formatLoadMore: function () { return "正在加载更多…"; },
      formatSearching: function () { return "正在查找…"; }
    });
  }

  if ($.fn.daterangepicker) {
    var chinese = {
      applyLabel: "确定",
      cancelLabel: "取消",
      fromLabel: "从",
      toLabel: "到",
      weekLabel: "周",
      customRangeLabel: "自定义",
      daysOfWeek: ["日", "一", "二", "三", "四", "五", "六"],
      monthNames: ["一月", "二月", "三月", "四月", "五月", "六月",
                   "七月", "八月", "九月", "十月", "十一月", "十二月"],
      firstDay: 1
    };
    var original = $.fn.daterangepicker;
    $.fn.daterangepicker = function (options, callback) {
      var merged = $.extend(true, {}, options || {});
      merged.locale = $.extend({}, chinese, merged.locale || {});
      return original.call(this, merged, callback);
    };
  }
})();
