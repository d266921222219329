using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Tta.Cache;

namespace Tta.Figures;

/// <summary>
/// One figure of a report: where it belongs (<paramref name="Model"/>, <paramref name="Text"/>, <paramref name="Kind"/>),
/// a caption, and the files of its formats (png/svg/pdf; absolute or relative to the current directory). The first PNG
/// (else SVG) is shown in the page; every file is linked.
/// </summary>
public sealed record ReportFigure(string Model, string Text, string Kind, string Caption, IReadOnlyList<string> Files);

/// <summary>A model of the run: key, id, source and the revision asked for / resolved to (e.g. a commit sha).</summary>
public sealed record ReportModel(string Key, string Id, string Source, string Revision, string? ResolvedRevision = null);

/// <summary>Everything a report page shows. YAML and manifest are shown verbatim (escaped).</summary>
public sealed record ReportData(
    string Experiment,
    IReadOnlyList<ReportFigure> Figures,
    string? ExperimentYaml = null,
    IReadOnlyList<ReportModel>? Models = null,
    string? RunManifest = null,
    string? Title = null);

/// <summary>
/// Writes <c>figures/&lt;experiment&gt;/index.html</c>: a static, self-contained page (inline CSS, no scripts, no
/// fonts or anything else from the network) that groups the figures by model, text and kind with captions and shows
/// the experiment YAML, the model revisions and the run manifest. Images are linked relatively, so the page works
/// from <c>file://</c> and when the folder is moved as a whole.
/// </summary>
public static class ReportPage
{
    public const string FileName = "index.html";

    private static readonly string[] InlineOrder = ["png", "svg"];

    /// <summary><c>figuresDir/experiment/index.html</c>.</summary>
    public static string PathFor(string figuresDir, string experiment) => Path.Combine(figuresDir, experiment, FileName);

    /// <summary>Writes the page atomically to <see cref="PathFor"/> and returns its path. Every figure file must exist.</summary>
    public static string Write(string figuresDir, ReportData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentException.ThrowIfNullOrWhiteSpace(figuresDir);
        var path = Path.GetFullPath(PathFor(figuresDir, data.Experiment));
        foreach (var figure in data.Figures)
            foreach (var file in figure.Files)
                if (!File.Exists(file))
                    throw new FileNotFoundException($"report figure file is missing: {file}", file);
        var html = Html(data, Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, html);
        return path;
    }

    /// <summary>
    /// Collects the figures under <paramref name="experimentDir"/> laid out as <c>&lt;model&gt;/&lt;text&gt;/&lt;stem&gt;.&lt;format&gt;</c>
    /// (the Figures stage's layout), one <see cref="ReportFigure"/> per stem, sorted by model, text and stem (ordinal).
    /// <paramref name="describe"/> gives each stem's kind and caption (default: the stem's last '-' part, and the stem).
    /// </summary>
    public static IReadOnlyList<ReportFigure> Scan(string experimentDir, Func<string, (string Kind, string Caption)>? describe = null)
    {
        describe ??= stem => (stem.Contains('-') ? stem[(stem.LastIndexOf('-') + 1)..] : "figure", stem);
        var figures = new List<ReportFigure>();
        if (!Directory.Exists(experimentDir))
            return figures;
        foreach (var modelDir in Directory.GetDirectories(experimentDir).Order(StringComparer.Ordinal))
            foreach (var textDir in Directory.GetDirectories(modelDir).Order(StringComparer.Ordinal))
            {
                var byStem = Directory.GetFiles(textDir)
                    .Where(f => HeatmapFigure.Formats.Contains(Path.GetExtension(f).TrimStart('.').ToLowerInvariant())
                        && !Path.GetFileName(f).StartsWith(".tmp-", StringComparison.Ordinal))
                    .GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal)
                    .OrderBy(g => g.Key, StringComparer.Ordinal);
                foreach (var group in byStem)
                {
                    var (kind, caption) = describe(group.Key);
                    var files = group.OrderBy(f => Array.IndexOf(HeatmapFigure.Formats.ToArray(), Path.GetExtension(f).TrimStart('.').ToLowerInvariant()))
                        .ToList();
                    figures.Add(new ReportFigure(Path.GetFileName(modelDir), Path.GetFileName(textDir), kind, caption, files));
                }
            }
        return figures;
    }

    /// <summary>The page's HTML, with links relative to <paramref name="pageDir"/>.</summary>
    public static string Html(ReportData data, string pageDir)
    {
        ArgumentNullException.ThrowIfNull(data);
        var title = data.Title ?? $"tta report: {data.Experiment}";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          // No network: nothing outside the page's own folder tree may load.
          .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'\">\n")
          .Append("<title>").Append(Escape(title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        sb.Append("<header><h1>").Append(Escape(title)).Append("</h1>\n<p class=\"meta\">")
          .Append(data.Figures.Count.ToString(CultureInfo.InvariantCulture)).Append(" figure")
          .Append(data.Figures.Count == 1 ? "" : "s").Append(" · experiment <code>").Append(Escape(data.Experiment))
          .Append("</code></p>\n</header>\n");

        var groups = Group(data.Figures);
        sb.Append("<nav><h2>Contents</h2>\n<ul>\n");
        var anchors = new Dictionary<(string, string, string), string>();
        foreach (var (model, texts) in groups)
        {
            var modelId = UniqueId(ids, "m-" + model);
            anchors[(model, "", "")] = modelId;
            sb.Append("<li><a href=\"#").Append(modelId).Append("\">").Append(Escape(model)).Append("</a>\n<ul>\n");
            foreach (var (text, kinds) in texts)
            {
                var textId = UniqueId(ids, $"t-{model}-{text}");
                anchors[(model, text, "")] = textId;
                sb.Append("<li><a href=\"#").Append(textId).Append("\">").Append(Escape(text)).Append("</a>: ");
                var first = true;
                foreach (var (kind, figures) in kinds)
                {
                    var kindId = UniqueId(ids, $"k-{model}-{text}-{kind}");
                    anchors[(model, text, kind)] = kindId;
                    if (!first)
                        sb.Append(", ");
                    first = false;
                    sb.Append("<a href=\"#").Append(kindId).Append("\">").Append(Escape(kind)).Append("</a> (")
                      .Append(figures.Count.ToString(CultureInfo.InvariantCulture)).Append(')');
                }
                sb.Append("</li>\n");
            }
            sb.Append("</ul></li>\n");
        }
        sb.Append("<li><a href=\"#run\">Run details</a></li>\n</ul>\n</nav>\n<main>\n");

        foreach (var (model, texts) in groups)
        {
            sb.Append("<section class=\"model\" id=\"").Append(anchors[(model, "", "")]).Append("\">\n<h2>Model <code>")
              .Append(Escape(model)).Append("</code></h2>\n");
            foreach (var (text, kinds) in texts)
            {
                sb.Append("<section class=\"text\" id=\"").Append(anchors[(model, text, "")]).Append("\">\n<h3>Text <code>")
                  .Append(Escape(text)).Append("</code></h3>\n");
                foreach (var (kind, figures) in kinds)
                {
                    sb.Append("<section class=\"kind\" id=\"").Append(anchors[(model, text, kind)]).Append("\">\n<h4>")
                      .Append(Escape(kind)).Append("</h4>\n<div class=\"grid\">\n");
                    foreach (var figure in figures)
                        AppendFigure(sb, figure, pageDir);
                    sb.Append("</div>\n</section>\n");
                }
                sb.Append("</section>\n");
            }
            sb.Append("</section>\n");
        }

        sb.Append("<section id=\"run\">\n<h2>Run details</h2>\n");
        if (data.Models is { Count: > 0 })
        {
            sb.Append("<h3>Models</h3>\n<table>\n<thead><tr><th>key</th><th>id</th><th>source</th><th>revision</th><th>resolved</th></tr></thead>\n<tbody>\n");
            foreach (var m in data.Models)
                sb.Append("<tr><td><code>").Append(Escape(m.Key)).Append("</code></td><td>").Append(Escape(m.Id))
                  .Append("</td><td>").Append(Escape(m.Source)).Append("</td><td><code>").Append(Escape(m.Revision))
                  .Append("</code></td><td><code>").Append(Escape(m.ResolvedRevision ?? "")).Append("</code></td></tr>\n");
            sb.Append("</tbody>\n</table>\n");
        }
        if (data.ExperimentYaml is not null)
            sb.Append("<details open><summary>Experiment file (YAML)</summary>\n<pre class=\"yaml\">")
              .Append(Escape(data.ExperimentYaml)).Append("</pre>\n</details>\n");
        if (data.RunManifest is not null)
            sb.Append("<details><summary>Run manifest</summary>\n<pre class=\"manifest\">")
              .Append(Escape(data.RunManifest)).Append("</pre>\n</details>\n");
        sb.Append("</section>\n</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private static void AppendFigure(StringBuilder sb, ReportFigure figure, string pageDir)
    {
        string Format(string f) => Path.GetExtension(f).TrimStart('.').ToLowerInvariant();
        var inline = InlineOrder.Select(fmt => figure.Files.FirstOrDefault(f => Format(f) == fmt)).FirstOrDefault(f => f is not null);
        sb.Append("<figure>\n");
        if (inline is not null)
        {
            var href = RelativeUrl(pageDir, inline);
            sb.Append("<a href=\"").Append(href).Append("\"><img src=\"").Append(href).Append("\" alt=\"")
              .Append(Escape(figure.Caption)).Append('"');
            if (Format(inline) == "png" && TryPngSize(inline, out var w, out var h))
                sb.Append(" width=\"").Append(w.ToString(CultureInfo.InvariantCulture)).Append("\" height=\"")
                  .Append(h.ToString(CultureInfo.InvariantCulture)).Append('"');
            sb.Append("></a>\n");
        }
        sb.Append("<figcaption>").Append(Escape(figure.Caption));
        if (figure.Files.Count > 0)
        {
            sb.Append("<span class=\"formats\">");
            foreach (var file in figure.Files)
                sb.Append(" <a href=\"").Append(RelativeUrl(pageDir, file)).Append("\">").Append(Escape(Format(file).ToUpperInvariant())).Append("</a>");
            sb.Append("</span>");
        }
        sb.Append("</figcaption>\n</figure>\n");
    }

    /// <summary>Figures grouped by model, then text, then kind, each in order of first appearance.</summary>
    private static List<(string Model, List<(string Text, List<(string Kind, List<ReportFigure> Figures)> Kinds)> Texts)> Group(
        IReadOnlyList<ReportFigure> figures)
    {
        var result = new List<(string, List<(string, List<(string, List<ReportFigure>)>)>)>();
        foreach (var f in figures)
        {
            var mi = result.FindIndex(m => m.Item1 == f.Model);
            if (mi < 0) { result.Add((f.Model, [])); mi = result.Count - 1; }
            var texts = result[mi].Item2;
            var ti = texts.FindIndex(t => t.Item1 == f.Text);
            if (ti < 0) { texts.Add((f.Text, [])); ti = texts.Count - 1; }
            var kinds = texts[ti].Item2;
            var ki = kinds.FindIndex(k => k.Item1 == f.Kind);
            if (ki < 0) { kinds.Add((f.Kind, [])); ki = kinds.Count - 1; }
            kinds[ki].Item2.Add(f);
        }
        return result;
    }

    /// <summary>A relative URL from <paramref name="pageDir"/> to <paramref name="file"/>, each path segment percent-encoded.</summary>
    public static string RelativeUrl(string pageDir, string file)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(pageDir), Path.GetFullPath(file)).Replace('\\', '/');
        return string.Join('/', relative.Split('/').Select(s => s == ".." || s == "." ? s : Uri.EscapeDataString(s)));
    }

    /// <summary>HTML-escapes text for element content and double- or single-quoted attributes.</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return "";
        var sb = new StringBuilder(text.Length + 16);
        foreach (var ch in text)
        {
            switch (ch)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default: sb.Append(ch); break;
            }
        }
        return sb.ToString();
    }

    private static string UniqueId(HashSet<string> used, string raw)
    {
        var sb = new StringBuilder();
        foreach (var ch in raw)
            sb.Append(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? ch : '_');
        var id = sb.ToString();
        var candidate = id;
        for (var n = 2; !used.Add(candidate); n++)
            candidate = id + "-" + n.ToString(CultureInfo.InvariantCulture);
        return candidate;
    }

    private static bool TryPngSize(string path, out int width, out int height)
    {
        width = height = 0;
        try
        {
            Span<byte> head = stackalloc byte[24];
            using var stream = File.OpenRead(path);
            if (stream.ReadAtLeast(head, 24, throwOnEndOfStream: false) < 24 || head[1] != 'P' || head[2] != 'N' || head[3] != 'G')
                return false;
            width = BinaryPrimitives.ReadInt32BigEndian(head[16..]);
            height = BinaryPrimitives.ReadInt32BigEndian(head[20..]);
            return width > 0 && height > 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private const string Css = """
        :root { color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0; padding: 0 1.5rem 3rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1d1d1f; background: #fafafa; }
        header { padding: 1.2rem 0 0.4rem; border-bottom: 1px solid #ddd; }
        h1 { margin: 0; font-size: 1.6rem; }
        h2 { margin: 2rem 0 0.6rem; font-size: 1.3rem; border-bottom: 1px solid #e4e4e4; padding-bottom: 0.2rem; }
        h3 { margin: 1.4rem 0 0.4rem; font-size: 1.1rem; }
        h4 { margin: 1rem 0 0.4rem; font-size: 1rem; color: #444; text-transform: none; }
        .meta { color: #666; margin: 0.3rem 0 0.8rem; }
        nav ul { margin: 0.2rem 0; padding-left: 1.2rem; }
        nav h2 { font-size: 1.05rem; border: 0; margin: 1rem 0 0.2rem; }
        code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; }
        .grid { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
        figure { margin: 0; padding: 0.6rem; background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; max-width: 100%; }
        figure img { display: block; max-width: 100%; height: auto; }
        figcaption { margin-top: 0.4rem; font-size: 0.88rem; color: #333; max-width: 60ch; overflow-wrap: anywhere; }
        .formats { margin-left: 0.5rem; white-space: nowrap; }
        .formats a { font-size: 0.8rem; padding: 0 0.25rem; border: 1px solid #ccd; border-radius: 3px; text-decoration: none; color: #235; }
        table { border-collapse: collapse; background: #fff; }
        th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
        th { background: #f0f0f3; }
        details { margin: 0.8rem 0; }
        summary { cursor: pointer; font-weight: 600; }
        pre { background: #fff; border: 1px solid #e2e2e2; padding: 0.7rem; overflow: auto; max-height: 32rem; white-space: pre; }

        """;
}
