#include "satx/eval/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "eval/detail/html.hpp"
#include "eval/detail/report_sections.hpp"
#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/core/files.hpp"

namespace fs = std::filesystem;

namespace satx::eval {

namespace detail {

const std::vector<std::string>& PageData::classes() const {
  static const std::vector<std::string> none;
  if (model) return model->classes;
  if (evaluation) return evaluation->report.classes;
  return none;
}

std::string section(const std::string& id, const std::string& heading, const std::string& body) {
  return "<section id=\"" + id + "\"><h2>" + escape(heading) + "</h2>\n" + body + "</section>\n";
}

std::string note(const std::string& text) { return "<p class=\"note\">" + escape(text) + "</p>\n"; }

std::string confusion_section(const PageData& page) {
  if (!page.evaluation) return section("confusion", "Confusion matrix", note("No scored tiles: pass -data=FOLDER, or train with -test."));
  const Report& report = page.evaluation->report;
  const auto normalized = report.confusion_normalized();
  std::string html = "<p class=\"caption\">Rows are the true class, columns the predicted one. Each cell holds the tile "
                     "count; its colour is the share of its row (blue: correct, red: confused). Recall = the diagonal "
                     "share of the row.</p>\n<div class=\"scroll\"><table class=\"matrix\"><thead><tr><th class=\"corner\">"
                     "true \\ predicted</th>";
  for (const auto& name : report.classes) html += "<th class=\"col\" title=\"" + escape(name) + "\"><span>" + escape(name) + "</span></th>";
  html += "<th class=\"recall\">recall</th><th>tiles</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < report.confusion.size(); ++i) {
    const ClassMetrics& m = report.per_class[i];
    html += "<tr><th class=\"row\">" + escape(report.classes[i]) + "</th>";
    for (size_t j = 0; j < report.confusion[i].size(); ++j) {
      const int64_t n = report.confusion[i][j];
      const double share = normalized[i][j];
      html += "<td style=\"background:" + heat_colour(share, i == j) + "\"" + (share > 0.55 ? " class=\"dark\"" : "") +
              " title=\"" + escape(report.classes[i]) + " as " + escape(report.classes[j]) + ": " + std::to_string(n) +
              " (" + percent(share) + " of the row)\">" + (n ? std::to_string(n) : "") + "</td>";
    }
    html += "<td class=\"recall\">" + percent(m.recall) + "</td><td class=\"num\">" + count(m.support) + "</td></tr>\n";
  }
  html += "</tbody></table></div>\n";
  return section("confusion", "Confusion matrix", html);
}

std::string per_class_section(const PageData& page) {
  if (!page.evaluation) return section("per-class", "Per-class metrics", note("No scored tiles: pass -data=FOLDER, or train with -test."));
  const Report& report = page.evaluation->report;
  // An F1 bar behind the number lets weak classes stand out in a long table.
  const auto bar = [](double value) {
    const std::string width = fixed(std::clamp(value, 0.0, 1.0) * 100, 1);
    return "style=\"background:linear-gradient(90deg,#cfe0f1 " + width + "%,transparent " + width + "%)\"";
  };
  std::string html = "<table class=\"metrics\"><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>"
                     "<th>support</th><th>predicted</th></tr></thead><tbody>\n";
  for (const auto& m : report.per_class)
    html += "<tr><th class=\"row\">" + escape(m.name) + "</th><td class=\"num\">" + fixed(m.precision) +
            "</td><td class=\"num\">" + fixed(m.recall) + "</td><td class=\"num bar\" " + bar(m.f1) + ">" + fixed(m.f1) +
            "</td><td class=\"num\">" + count(m.support) + "</td><td class=\"num\">" + count(m.predicted) + "</td></tr>\n";
  html += "</tbody><tfoot>";
  for (const auto& [name, avg] : {std::pair<const char*, AveragedMetrics>{"macro average", report.macro}, {"weighted average", report.weighted}})
    html += "<tr><th class=\"row\">" + std::string(name) + "</th><td class=\"num\">" + fixed(avg.precision) +
            "</td><td class=\"num\">" + fixed(avg.recall) + "</td><td class=\"num\">" + fixed(avg.f1) +
            "</td><td class=\"num\">" + count(report.samples) + "</td><td></td></tr>";
  html += "</tfoot></table>\n";
  return section("per-class", "Per-class metrics", html);
}

}  // namespace detail

namespace {

using namespace detail;

constexpr const char* kStyle = R"css(
:root{--ink:#1d2430;--muted:#5b6472;--line:#d8dde5;--accent:#1f77b4;--bad:#d62728}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:0 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:15px;margin:16px 0 6px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
nav{margin:10px 0 0}nav a{margin-right:14px;color:var(--accent);text-decoration:none}
.meta,.caption,.note{color:var(--muted)}.note{font-style:italic}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:12px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:96px;background:#fbfcfd}
.card b{display:block;font-size:20px}.card span{color:var(--muted);font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
svg.chart{background:#fff;font-size:11px}
svg .chart-title{font-weight:600;font-size:13px;fill:var(--ink)}
svg .grid{stroke:#e6e9ee}svg .frame{fill:none;stroke:#9aa3af}
svg .tick,svg .legend,svg .band-label{fill:var(--muted)}svg .axis-label{fill:var(--ink)}
svg .band0{fill:#eef3f9}svg .band1{fill:#f7f1e8}
svg .line{fill:none;stroke-width:2}svg .diagonal{stroke:#9aa3af;stroke-dasharray:3 3}
svg .rule{stroke-width:1.5;stroke-dasharray:4 3}svg .operating{fill:#fff;stroke-width:2.5}svg .point-label{font-weight:600}
table{border-collapse:collapse}th,td{padding:3px 8px;border-bottom:1px solid #edf0f3;text-align:left}
td.num,td.recall{text-align:right;font-variant-numeric:tabular-nums}
tfoot th,tfoot td{border-top:2px solid var(--line);font-weight:600}
.scroll{overflow-x:auto}
table.matrix td{text-align:center;min-width:34px;font-variant-numeric:tabular-nums;border:1px solid #eef0f3}
table.matrix td.dark{color:#fff}
table.matrix th.col{vertical-align:bottom;padding:4px 2px}
table.matrix th.col span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;max-height:150px;overflow:hidden;text-overflow:ellipsis;display:inline-block}
table.matrix .corner{font-weight:400;color:var(--muted);vertical-align:bottom}
tr.best{background:#fff4cc}tr.best td,tr.best th{font-weight:600}
tr.operating{background:#fde8e8}
.gallery{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;width:168px;border:1px solid var(--line);border-radius:6px;padding:6px;background:#fbfcfd}
figure img,figure .missing{width:128px;height:128px;object-fit:contain;background:#eee;display:block;margin:0 auto}
figure .missing{display:flex;align-items:center;justify-content:center;color:var(--muted);font-size:11px;text-align:center}
figcaption{font-size:11.5px;line-height:1.35;margin-top:4px;overflow-wrap:anywhere}
figcaption .file{color:var(--muted)}figcaption .wrong{color:var(--bad);font-weight:600}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0}dl.kv.wide{grid-template-columns:repeat(3,max-content minmax(90px,auto))}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
details summary{cursor:pointer;color:var(--accent);margin-top:8px}
.columns{display:flex;flex-wrap:wrap;gap:28px}.columns>div{flex:1 1 340px}
)css";

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &parts);
  return text;
}

std::string card(const std::string& value, const std::string& label) {
  return "<div class=\"card\"><b>" + value + "</b><span>" + escape(label) + "</span></div>";
}

std::string summary_section(const PageData& page, const std::string& title, const std::vector<std::string>& ids) {
  std::string meta = "Generated by satx " + escape(version()) + " on " + utc_now();
  if (page.run) meta += " &middot; run " + escape(page.run->folder.string());
  if (!page.input.model_path.empty()) meta += " &middot; model " + escape(page.input.model_path);
  if (page.evaluation) meta += " &middot; tiles from " + escape(page.evaluation->data);
  std::string cards;
  if (page.evaluation) {
    const Report& r = page.evaluation->report;
    cards += card(percent(r.accuracy), "accuracy") + card(fixed(r.macro.f1), "macro F1") +
             card(fixed(r.weighted.f1), "weighted F1") + card(fixed(r.log_loss), "log loss") + card(count(r.samples), "tiles");
    if (r.topk > 0) cards += card(percent(r.topk_accuracy), "top-" + std::to_string(r.topk) + " accuracy");
    if (r.binary) cards += card(fixed(r.binary->roc_auc), "ROC-AUC") + card(fixed(r.binary->pr_auc), "PR-AUC");
  }
  if (page.model) cards += card(std::to_string(page.model->classes.size()), "classes") +
                           card(escape(page.model->arch), "architecture") +
                           card(std::to_string(page.model->input_size) + " px", "input size");
  if (page.run && page.run->leaderboard) cards += card(std::to_string(page.run->leaderboard->rows.size()), "tuning trials");
  std::string nav = "<nav>";
  for (const auto& id : ids)
    if (id != "summary") nav += "<a href=\"#" + id + "\">" + id + "</a>";
  nav += "</nav>";
  std::string warnings;
  if (page.run)
    for (const auto& warning : page.run->warnings) warnings += note("Note: " + warning);
  return "<section id=\"summary\"><h1>" + escape(title) + "</h1><p class=\"meta\">" + meta + "</p><div class=\"cards\">" +
         cards + "</div>" + warnings + nav + "</section>\n";
}

std::string default_title(const HtmlReportInput& input) {
  if (input.run) {
    const fs::path named = input.run->tune_folder.empty() ? input.run->folder : input.run->tune_folder;
    return "satx report: " + (named.filename().empty() ? named.parent_path().filename() : named.filename()).string();
  }
  if (!input.model_path.empty()) return "satx report: " + fs::path(input.model_path).filename().string();
  return "satx report";
}

void check_options(const HtmlReportOptions& o) {
  if (o.thumbnail < 8 || o.thumbnail > 512) throw_option("thumbnail", "must be in [8, 512] px, got " + std::to_string(o.thumbnail));
  if (o.jpeg_quality < 1 || o.jpeg_quality > 100)
    throw_option("jpeg_quality", "must be in [1, 100], got " + std::to_string(o.jpeg_quality));
  if (o.gallery > 500) throw_option("gallery", "must be at most 500 tiles, got " + std::to_string(o.gallery));
  if (o.curve_points < 2) throw_option("curve_points", "must be at least 2, got " + std::to_string(o.curve_points));
}

}  // namespace

std::vector<std::string> html_report_sections(const HtmlReportInput& input) {
  std::vector<std::string> ids = {"summary"};
  // A tuning report leads with the comparison of trials; the rest is about the best one.
  if (input.run && input.run->leaderboard) ids.push_back("leaderboard");
  ids.insert(ids.end(), {"curves", "confusion", "per-class"});
  const size_t classes = input.model ? input.model->classes.size()
                         : input.run && input.run->model ? input.run->model->classes.size()
                         : input.evaluation ? input.evaluation->report.classes.size()
                                            : 0;
  if (classes == 2) ids.push_back("binary");
  ids.insert(ids.end(), {"gallery", "model-card"});
  return ids;
}

std::string render_html_report(const HtmlReportInput& input, const HtmlReportOptions& options) {
  check_options(options);
  PageData page{input, options};
  if (input.run) page.run = &*input.run;
  page.model = input.model ? &*input.model : page.run && page.run->model ? &*page.run->model : nullptr;
  if (input.evaluation) page.evaluation = &*input.evaluation;
  if (page.model && page.evaluation && page.evaluation->report.classes != page.model->classes)
    throw_usage("html report: the evaluation's classes differ from the model's");
  const std::string title = options.title.empty() ? default_title(input) : options.title;
  const std::vector<std::string> ids = html_report_sections(input);

  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                     // Nothing may load from the network, so the page opens the same offline.
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
                     "img-src data:\">"
                     "<title>" + escape(title) + "</title><style>" + kStyle + "</style></head>\n<body><main>\n";
  for (const auto& id : ids) {
    if (id == "summary") html += summary_section(page, title, ids);
    else if (id == "curves") html += curves_section(page);
    else if (id == "confusion") html += confusion_section(page);
    else if (id == "per-class") html += per_class_section(page);
    else if (id == "binary") html += binary_section(page);
    else if (id == "gallery") html += gallery_section(page);
    else if (id == "model-card") html += model_card_section(page);
    else if (id == "leaderboard") html += leaderboard_section(page);
  }
  return html + "</main></body></html>\n";
}

uint64_t write_html_report(const fs::path& path, const HtmlReportInput& input, const HtmlReportOptions& options) {
  const std::string html = render_html_report(input, options);
  write_file_atomic(path, html);
  return html.size();
}

}  // namespace satx::eval
