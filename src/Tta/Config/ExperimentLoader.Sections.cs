using YamlDotNet.RepresentationModel;

namespace Tta.Config;

public static partial class ExperimentLoader
{
    // The executor:, extract:, metrics: and figures: sections.
    private sealed partial class Reader
    {
        private ExecutorSpec? ReadExecutor(YamlEntry? section)
        {
            if (section is null || IsNull(section.Value)) return null;
            var f = Fields(section.Value, "'executor'", ExecutorKeys);
            string? Text(string key) => f.TryGetValue(key, out var e) && !IsNull(e.Value) ? String(e.Value, key) : null;
            var kind = Collect(() =>
            {
                var value = Text("kind") ?? "local";
                if (!ExecutorKinds.Contains(value))
                    throw Error(f["kind"].Value, $"unknown executor kind '{value}'", $"use one of: {List(ExecutorKinds)}");
                return value;
            }, "local");
            var time = Collect(() =>
            {
                var value = Text("time");
                if (value is null) return null;
                try { SlurmTimeLimit.Parse(value, "executor.time"); }
                catch (FormatException e) { throw Error(f["time"].Value, e.Message, "write minutes (90), H:MM:SS (2:00:00), D-HH (1-12) or D-HH:MM (1-12:30)"); }
                return value;
            }, null);
            var partition = Collect(() => Text("partition"), null);
            var account = Collect(() => Text("account"), null);
            var groupSize = Collect(() =>
            {
                if (!f.TryGetValue("group_size", out var g) || IsNull(g.Value)) return (int?)null;
                var value = Int(g.Value, "group_size");
                return value >= 1 ? value : throw Error(g.Value, $"group_size must be positive, got {value}",
                    "write the most units one Slurm task builds, a whole number ≥ 1, or leave it out for the default (16, and what fits --time)");
            }, null);
            return new ExecutorSpec(kind, partition, account, time, At(section.Value), groupSize);
        }

        private ExtractSpec ReadExtract(YamlEntry? section)
        {
            if (section is null || IsNull(section.Value))
                return new ExtractSpec(DefaultPoints, null, DefaultMaxTokens, null);
            var node = section.Value;
            var f = Collect(() => Fields(node, "'extract'", ExtractKeys), []);

            var points = DefaultPoints;
            IReadOnlyList<SourceSpan>? pointsAt = null;
            if (f.TryGetValue("points", out var p) && !IsNull(p.Value))
                Collect(() =>
                {
                    points = StringList(p.Value, "points", null, "glob patterns over capture names, e.g. [\"hidden_states.*\"]");
                    pointsAt = ((YamlSequenceNode)p.Value).Children.Select(At).ToList();
                });

            IReadOnlyList<int>? layers = null;
            SourceSpan? layersAt = null;
            if (f.TryGetValue("layers", out var l) && !IsNull(l.Value))
            {
                layersAt = At(l.Value);
                if (l.Value is not YamlScalarNode { Value: "all" })
                    layers = Collect(() =>
                    {
                        var items = Sequence(l.Value, "layers", "a list of layer numbers such as [0, 3, 6], or \"all\"");
                        if (items.Count == 0)
                            throw Error(l.Value, "'layers' is empty", "list layer numbers such as [0, 3, 6], or write \"all\" (or remove it) for every layer");
                        var list = new List<int>();
                        var seen = new Dictionary<int, YamlNode>();
                        foreach (var it in items)
                            Collect(() =>
                            {
                                var v = Int(it, "layer");
                                if (v < 0)
                                    throw Error(it, $"negative layer {v}", "layers count from 0 (0 = embedding output); use a number ≥ 0");
                                if (seen.TryGetValue(v, out var firstAt))
                                    throw Error(it, $"layer {v} is listed twice (first at {At(firstAt).Line}:{At(firstAt).Column})", "list each layer once");
                                seen[v] = it;
                                list.Add(v);
                            });
                        return list;
                    }, null);
            }

            var maxTokens = DefaultMaxTokens;
            if (f.TryGetValue("max_tokens", out var m) && !IsNull(m.Value))
                maxTokens = Collect(() =>
                {
                    var value = Int(m.Value, "max_tokens");
                    if (value <= 0)
                        throw Error(m.Value, $"max_tokens must be positive, got {value}", $"use a whole number ≥ 1 (default {DefaultMaxTokens})");
                    return value;
                }, DefaultMaxTokens);
            var batch = 1;
            if (f.TryGetValue("batch", out var b) && !IsNull(b.Value))
                batch = Collect(() =>
                {
                    var value = Int(b.Value, "batch");
                    if (value is < 1 or > MaxExtractBatch)
                        throw Error(b.Value, $"batch must be 1..{MaxExtractBatch}, got {value}", "use the number of texts per forward pass, e.g. 16 (default 1: one text at a time)");
                    return value;
                }, 1);
            return new ExtractSpec(points, layers, maxTokens, layersAt, pointsAt, batch);
        }

        /// <summary>
        /// Each metric kind reads its own entry (<see cref="IMetricSettings.Read"/>); a kind not named takes its
        /// default. <c>Unread</c>: the kinds whose entry has a problem (reported), so checks against them are skipped.
        /// </summary>
        private (MetricsSpec Metrics, HashSet<string> Unread) ReadMetrics(YamlEntry? section)
        {
            var f = section is null || IsNull(section.Value)
                ? []
                : Collect(() => Fields(section.Value, "'metrics'", [.. metricKinds.Select(k => k.Name)]), []);
            var settings = new Dictionary<string, object>(StringComparer.Ordinal);
            var unread = new HashSet<string>(StringComparer.Ordinal);
            foreach (var kind in metricKinds)
            {
                var named = f.TryGetValue(kind.Name, out var entry) && !IsNull(entry.Value);
                var read = Collect(() => { var value = named ? kind.Read(this, entry!.Value) : kind.Default; if (value is not null) settings[kind.Name] = value; });
                // A kind whose entry has a problem, or whose key was misspelled, is reported already.
                if (!read || (section is not null && Guessed(section.Value, kind.Name))) unread.Add(kind.Name);
            }
            return (new MetricsSpec(settings), unread);
        }

        private FiguresSpec ReadFigures(YamlEntry? section, MetricsSpec metrics, HashSet<string> unreadMetrics)
        {
            // Default: the figures of every configured metric kind (similarity always).
            IReadOnlyList<string> figureKinds = [.. metricKinds.Select(k => k.Name)];
            IReadOnlyList<string> kinds = [.. figureKinds.Where(metrics.Has)];
            IReadOnlyList<string> formats = ["png", "pdf"];
            var colormap = "cividis_r";
            var tokenLabels = true;
            var cellPixels = DefaultCellPixels;
            var dpi = DefaultDpi;
            bool? perText = null;
            if (section is null || IsNull(section.Value))
                return new FiguresSpec(kinds, formats, colormap, tokenLabels, cellPixels, dpi);

            var f = Collect(() => Fields(section.Value, "'figures'", FiguresKeys), []);
            if (f.TryGetValue("kinds", out var k) && !IsNull(k.Value))
                kinds = Collect(() =>
                {
                    var list = StringList(k.Value, "kinds", ("figure kind", figureKinds), $"a list of figure kinds, e.g. [{List(figureKinds)}]");
                    foreach (var (kind, item) in list.Zip(((YamlSequenceNode)k.Value).Children))
                    {
                        // A metric whose entry has a problem is reported there, not again here.
                        if (!metrics.Has(kind) && !unreadMetrics.Contains(kind))
                            Report(Error(item, $"figure kind '{kind}' needs metrics.{kind}, which is not configured",
                                $"add '{metricKinds.First(k => k.Name == kind).Example}' under 'metrics:', or remove '{kind}' from 'kinds'"));
                    }
                    return list;
                }, kinds);
            if (f.TryGetValue("formats", out var fm) && !IsNull(fm.Value))
                formats = Collect(() => StringList(fm.Value, "formats", ("figure format", Formats), $"a list of formats, e.g. [{List(Formats)}]"), formats);
            if (f.TryGetValue("colormap", out var c) && !IsNull(c.Value))
                colormap = Collect(() => OneOf(c.Value, "colormap", Colormaps), colormap);
            if (f.TryGetValue("token_labels", out var t) && !IsNull(t.Value))
                tokenLabels = Collect(() => Bool(t.Value, "token_labels"), tokenLabels);
            if (f.TryGetValue("cell_pixels", out var cp) && !IsNull(cp.Value))
                cellPixels = Collect(() =>
                {
                    var value = Int(cp.Value, "cell_pixels");
                    if (value is < MinCellPixels or > MaxCellPixels)
                        throw Error(cp.Value, $"cell_pixels {value} is out of range", $"use {MinCellPixels}..{MaxCellPixels} (default {DefaultCellPixels})");
                    return value;
                }, cellPixels);
            if (f.TryGetValue("dpi", out var dp) && !IsNull(dp.Value))
                dpi = Collect(() =>
                {
                    var value = Int(dp.Value, "dpi");
                    if (value is < MinDpi or > MaxDpi)
                        throw Error(dp.Value, $"dpi {value} is out of range", $"use {MinDpi}..{MaxDpi} (default {DefaultDpi})");
                    return value;
                }, dpi);
            if (f.TryGetValue("per_text", out var pt) && !IsNull(pt.Value))
                perText = Collect(() => Bool(pt.Value, "per_text"), perText);
            return new FiguresSpec(kinds, formats, colormap, tokenLabels, cellPixels, dpi, perText);
        }
    }
}
