using System.Diagnostics;
using System.Net.Http;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tta.Figures;
using Xunit.Abstractions;

namespace Tta.Tests;

public class ReportTests(ITestOutputHelper output)
{
    private const string Yaml = """
        name: demo
        # a comment with <markup> & "quotes" that must show verbatim
        models:
          - id: tiny/model
            revision: main
        texts:
          - key: fox
            text: "The quick <b>brown</b> fox & 'friends' </pre><script>alert(1)</script>"
        """;

    /// <summary>
    /// Renders every figure kind from small synthetic data into <c>figures/demo/&lt;model&gt;/&lt;text&gt;/</c> and
    /// returns the report data describing them (two models, one with a space and non-ASCII in its folder name).
    /// </summary>
    private static ReportData MakeReport(string figuresDir)
    {
        const int n = 6, layers = 4;
        string[] tokens = ["<s>", " The", " quick", " brown", " fox", "."];
        var figures = new List<ReportFigure>();
        string[] formats = ["png", "pdf", "svg"];
        foreach (var (model, seed) in new[] { ("tiny-t5", 1), ("gpt ünï", 2) })
        {
            var rng = new Random(seed);
            var dir = Path.Combine(figuresDir, "demo", model, "fox");
            float[] Random(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)rng.NextDouble())];
            foreach (var panel in Enum.GetValues<AttentionPanel>())
            {
                var files = HeatmapFigure.Render(PaperFigures.Attention(panel, Random(n * n), n, n, tokens, tokens),
                    Path.Combine(dir, "L00-" + PaperFigures.Slug(panel)), formats);
                figures.Add(new ReportFigure(model, "fox", "attention", $"Layer 0: {PaperFigures.Title(panel)}", files));
            }
            var (rel, bias) = PaperFigures.KernelFromMatrix(Random(n * n), n, n);
            figures.Add(new ReportFigure(model, "fox", "attention", "Layer 0: Position Bias Kernel",
                BarChartFigure.Render(PaperFigures.Kernel(bias, rel), Path.Combine(dir, "L00-kernel"), formats)));
            var grid = new TokenGridSpec([.. Enumerable.Range(0, layers * n).Select(i => tokens[(i * 7) % n])], Random(layers * n),
                layers, n, "Nearest token across layers", tokens);
            figures.Add(new ReportFigure(model, "fox", "trajectory", "Nearest token <per layer> & position",
                TokenGridFigure.Render(grid, Path.Combine(dir, "nearest"), formats)));
            foreach (var mode in Enum.GetValues<LineMode>())
                figures.Add(new ReportFigure(model, "fox", "trajectory", $"Norm across layers ({mode})",
                    LineFigure.Render(new LineChartSpec(Random(n * layers), n, layers, tokens, "Norm", "Layer", "norm", mode),
                        Path.Combine(dir, "norm-" + mode), formats)));
        }
        return new ReportData("demo", figures, Yaml,
            [new ReportModel("tiny-t5", "tiny/t5", "hub", "main", "0123456789abcdef0123456789abcdef01234567"),
             new ReportModel("gpt ünï", "x/gpt", "local", "-", null)],
            """{ "stages": ["Download", "Figures"], "note": "<tags> & stuff" }""");
    }

    private static IEnumerable<string> LinkTargets(string html) =>
        Regex.Matches(html, @"\b(?:src|href)=""([^""]*)""").Select(m => m.Groups[1].Value);

    [Fact]
    public void PageGroupsFiguresEscapesTextAndLinksRelatively()
    {
        var figuresDir = Repo.TempDir();
        var data = MakeReport(figuresDir);
        var page = ReportPage.Write(figuresDir, data);
        Assert.Equal(Path.Combine(figuresDir, "demo", "index.html"), page);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(page)!, ".tmp-*"));
        var html = File.ReadAllText(page);

        // Self-contained: no scripts, no external style sheets or fonts, no absolute or remote URLs.
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotContain("url(", html);
        Assert.Contains("<style>", html);

        // Every link resolves to an existing file under the page's folder (anchors to an element of the page).
        var pageDir = Path.GetDirectoryName(page)!;
        var targets = LinkTargets(html).ToList();
        Assert.NotEmpty(targets);
        foreach (var target in targets)
        {
            if (target.StartsWith('#'))
            {
                Assert.Contains($"id=\"{target[1..]}\"", html);
                continue;
            }
            Assert.DoesNotMatch("^[a-z]+:", target);
            Assert.False(target.StartsWith('/'), target);
            var file = Path.GetFullPath(Path.Combine(pageDir, Uri.UnescapeDataString(target)));
            Assert.True(File.Exists(file), $"link {target} -> {file}");
        }
        // Every figure's every file is linked, its PNG shown.
        var linked = targets.Where(t => !t.StartsWith('#')).Select(t => Path.GetFullPath(Path.Combine(pageDir, Uri.UnescapeDataString(t)))).ToHashSet();
        foreach (var figure in data.Figures)
            foreach (var file in figure.Files)
                Assert.Contains(Path.GetFullPath(file), linked);
        var images = Regex.Matches(html, @"<img src=""([^""]*)""").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(data.Figures.Count, images.Count);
        Assert.All(images, i => Assert.EndsWith(".png", i));
        Assert.Contains("gpt%20%C3%BCn%C3%AF/fox/", html);

        // Grouping: model sections in order, text within, kinds within.
        var t5 = html.IndexOf("<h2>Model <code>tiny-t5</code>", StringComparison.Ordinal);
        var gpt = html.IndexOf("<h2>Model <code>gpt ünï</code>", StringComparison.Ordinal);
        Assert.True(t5 > 0 && gpt > t5);
        var kindsInT5 = Regex.Matches(html[t5..gpt], "<h4>([^<]*)</h4>").Select(m => m.Groups[1].Value);
        Assert.Equal(["attention", "trajectory"], kindsInT5);
        Assert.Equal(2 * 8, Regex.Matches(html, "<figure>").Count);

        // YAML, captions and manifest are escaped: the hostile text shows, it does not act.
        Assert.Contains("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("&lt;markup&gt; &amp; &quot;quotes&quot;", html);
        Assert.Contains("Nearest token &lt;per layer&gt; &amp; position", html);
        Assert.Contains("&lt;tags&gt; &amp; stuff", html);
        Assert.Contains("0123456789abcdef0123456789abcdef01234567", html);
        Assert.Contains("Layer 0: Q.Kᵀ", html);

        // Writing twice gives the same page.
        Assert.Equal(html, File.ReadAllText(ReportPage.Write(figuresDir, data)));
    }

    [Fact]
    public void MissingFigureFileIsAnErrorAndScanFindsTheStagesLayout()
    {
        var figuresDir = Repo.TempDir();
        var data = MakeReport(figuresDir);
        var broken = data with { Figures = [.. data.Figures, new ReportFigure("m", "t", "k", "c", [Path.Combine(figuresDir, "nope.png")])] };
        Assert.Throws<FileNotFoundException>(() => ReportPage.Write(figuresDir, broken));
        Assert.False(File.Exists(ReportPage.PathFor(figuresDir, "demo")));

        var scanned = ReportPage.Scan(Path.Combine(figuresDir, "demo"));
        Assert.Equal(data.Figures.Count, scanned.Count);
        Assert.Equal(["gpt ünï", "tiny-t5"], scanned.Select(f => f.Model).Distinct());
        Assert.All(scanned, f => Assert.Equal(["png", "pdf", "svg"], f.Files.Select(p => Path.GetExtension(p)[1..])));
        Assert.Contains(scanned, f => f.Kind == "kernel" && f.Caption == "L00-kernel");
        Assert.Empty(ReportPage.Scan(Path.Combine(figuresDir, "absent")));
    }

    [Fact]
    public async Task ReportLoadsInHeadlessChromiumWithEveryImageAndNoErrors()
    {
        var chromium = Chromium.Find() ?? Chromium.Install(output);
        if (chromium is null)
        {
            // In CI the browser check must run; elsewhere (no apt, not root) say clearly that it did not.
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "chromium is missing and could not be installed with apt-get");
            output.WriteLine("SKIPPED: chromium is not installed and `apt-get install -y chromium` failed; the browser check did not run");
            return;
        }
        var figuresDir = Repo.TempDir();
        var data = MakeReport(figuresDir);
        var page = ReportPage.Write(figuresDir, data);
        var outDir = Path.Combine(AppContext.BaseDirectory, "test-output", "report");
        Directory.CreateDirectory(outDir);

        await using var browser = await Chromium.Launch(chromium);
        var result = await browser.Load(page, Path.Combine(outDir, "report-screenshot.png"));
        output.WriteLine($"{result.Images.Count} images, {result.Errors.Count} errors, {result.Requests.Count} requests; screenshot {outDir}/report-screenshot.png");
        foreach (var e in result.Errors)
            output.WriteLine("error: " + e);
        Assert.Equal(data.Figures.Count, result.Images.Count);
        foreach (var (src, width) in result.Images)
            Assert.True(width > 0, $"image {src} did not load");
        Assert.Empty(result.Errors);
        Assert.All(result.Requests, url => Assert.StartsWith("file://", url));
        var shot = File.ReadAllBytes(Path.Combine(outDir, "report-screenshot.png"));
        Assert.True(shot.Length > 10_000 && shot[1] == 'P');

        // The check can fail: with one image gone the browser reports it, as a broken image and as an error.
        File.Delete(data.Figures[3].Files[0]);
        var broken = await browser.Load(page, Path.Combine(outDir, "report-broken.png"));
        Assert.Single(broken.Images, i => i.NaturalWidth == 0);
        Assert.NotEmpty(broken.Errors);
    }

    /// <summary>Headless Chromium driven over the DevTools protocol (a small WebSocket client).</summary>
    private sealed class Chromium : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _profile;
        private readonly ClientWebSocket _socket = new();
        private readonly List<JsonObject> _events = [];
        private readonly Dictionary<int, TaskCompletionSource<JsonObject>> _pending = [];
        private readonly CancellationTokenSource _stop = new();
        private Task? _reader;
        private int _nextId;

        private Chromium(Process process, string profile)
        {
            _process = process;
            _profile = profile;
        }

        public sealed record LoadResult(List<(string Src, int NaturalWidth)> Images, List<string> Errors, List<string> Requests);

        public static string? Find()
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
                foreach (var name in new[] { "chromium", "chromium-browser" })
                    if (File.Exists(Path.Combine(dir, name)))
                        return Path.Combine(dir, name);
            return null;
        }

        public static string? Install(ITestOutputHelper log)
        {
            log.WriteLine("chromium missing: apt-get install -y chromium");
            foreach (var args in new[] { "install -y chromium", "update", "install -y chromium" })
            {
                if (args == "update" && Find() is not null)
                    break;
                var psi = new ProcessStartInfo("apt-get", args) { RedirectStandardOutput = true, RedirectStandardError = true };
                psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
                try
                {
                    using var p = Process.Start(psi)!;
                    var err = p.StandardError.ReadToEndAsync();
                    p.StandardOutput.ReadToEnd();
                    p.WaitForExit();
                    if (p.ExitCode != 0)
                        log.WriteLine($"apt-get {args} failed ({p.ExitCode}): {err.Result.Trim()}");
                }
                catch (System.ComponentModel.Win32Exception e)
                {
                    log.WriteLine("apt-get unavailable: " + e.Message);
                    return null;
                }
            }
            return Find();
        }

        public static async Task<Chromium> Launch(string executable)
        {
            var profile = Repo.TempDir();
            var psi = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                "--remote-debugging-port=0", "--remote-allow-origins=*", $"--user-data-dir={profile}", "about:blank" })
                psi.ArgumentList.Add(a);
            var process = Process.Start(psi)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var browser = new Chromium(process, profile);
            try
            {
                // Chromium writes the port it picked to DevToolsActivePort in the profile.
                var portFile = Path.Combine(profile, "DevToolsActivePort");
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!File.Exists(portFile) || File.ReadAllLines(portFile).Length < 2)
                {
                    if (process.HasExited || DateTime.UtcNow > deadline)
                        throw new InvalidOperationException($"chromium did not start (exited: {process.HasExited})");
                    await Task.Delay(100);
                }
                var port = int.Parse(File.ReadAllLines(portFile)[0].Trim());
                using var http = new HttpClient();
                JsonArray? targets = null;
                while (targets is null || !targets.Any(t => (string?)t!["type"] == "page"))
                {
                    if (DateTime.UtcNow > deadline)
                        throw new InvalidOperationException("chromium has no page target");
                    targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
                    await Task.Delay(100);
                }
                var url = (string)targets.First(t => (string?)t!["type"] == "page")!["webSocketDebuggerUrl"]!;
                await browser._socket.ConnectAsync(new Uri(url), CancellationToken.None);
                browser._reader = Task.Run(browser.ReadLoop);
                foreach (var domain in new[] { "Page", "Runtime", "Log", "Network" })
                    await browser.Send(domain + ".enable");
                await browser.Send("Emulation.setDeviceMetricsOverride",
                    new JsonObject { ["width"] = 1280, ["height"] = 900, ["deviceScaleFactor"] = 1, ["mobile"] = false });
                return browser;
            }
            catch
            {
                await browser.DisposeAsync();
                throw;
            }
        }

        /// <summary>Opens the file, waits for the load event, and reports images, errors and requested URLs.</summary>
        public async Task<LoadResult> Load(string file, string screenshot)
        {
            lock (_events)
                _events.Clear();
            await Send("Page.navigate", new JsonObject { ["url"] = new Uri(file).AbsoluteUri });
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!HasEvent("Page.loadEventFired"))
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException("page did not finish loading");
                await Task.Delay(50);
            }
            await Task.Delay(500); // late console messages

            var images = await Send("Runtime.evaluate", new JsonObject
            {
                ["expression"] = "JSON.stringify(Array.from(document.images).map(i => [i.getAttribute('src'), i.complete ? i.naturalWidth : -1]))",
                ["returnByValue"] = true,
            });
            var list = JsonNode.Parse((string)images["result"]!["value"]!)!.AsArray()
                .Select(a => ((string)a![0]!, (int)a[1]!)).ToList();

            var metrics = await Send("Page.getLayoutMetrics");
            var height = Math.Min(6000, (double)metrics["cssContentSize"]!["height"]!);
            var shot = await Send("Page.captureScreenshot", new JsonObject
            {
                ["format"] = "png",
                ["captureBeyondViewport"] = true,
                ["clip"] = new JsonObject { ["x"] = 0, ["y"] = 0, ["width"] = 1280, ["height"] = height, ["scale"] = 1 },
            });
            await File.WriteAllBytesAsync(screenshot, Convert.FromBase64String((string)shot["data"]!));

            var errors = new List<string>();
            var requests = new List<string>();
            lock (_events)
                foreach (var e in _events)
                {
                    var method = (string)e["method"]!;
                    var p = e["params"]!;
                    switch (method)
                    {
                        case "Runtime.consoleAPICalled" when (string?)p["type"] is "error" or "assert":
                            errors.Add("console: " + p["args"]!.ToJsonString());
                            break;
                        case "Runtime.exceptionThrown":
                            errors.Add("exception: " + p["exceptionDetails"]!.ToJsonString());
                            break;
                        case "Log.entryAdded" when (string?)p["entry"]!["level"] == "error":
                            errors.Add($"log: {p["entry"]!["text"]} {p["entry"]!["url"]}");
                            break;
                        case "Network.loadingFailed":
                            errors.Add("network: " + p.ToJsonString());
                            break;
                        case "Network.requestWillBeSent":
                            requests.Add((string)p["request"]!["url"]!);
                            break;
                    }
                }
            return new LoadResult(list, errors, requests);
        }

        private bool HasEvent(string method)
        {
            lock (_events)
                return _events.Any(e => (string?)e["method"] == method);
        }

        private async Task<JsonObject> Send(string method, JsonObject? parameters = null)
        {
            TaskCompletionSource<JsonObject> done = new(TaskCreationOptions.RunContinuationsAsynchronously);
            int id;
            lock (_pending)
            {
                id = ++_nextId;
                _pending[id] = done;
            }
            var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
            await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
            var reply = await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
            if (reply["error"] is { } error)
                throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!.AsObject();
        }

        private async Task ReadLoop()
        {
            var buffer = new byte[1 << 16];
            using var message = new MemoryStream();
            try
            {
                while (_socket.State == WebSocketState.Open)
                {
                    var r = await _socket.ReceiveAsync(buffer, _stop.Token);
                    if (r.MessageType == WebSocketMessageType.Close)
                        break;
                    message.Write(buffer, 0, r.Count);
                    if (!r.EndOfMessage)
                        continue;
                    var node = JsonNode.Parse(message.ToArray())!.AsObject();
                    message.SetLength(0);
                    if (node["id"] is { } idNode)
                    {
                        TaskCompletionSource<JsonObject>? done;
                        lock (_pending)
                            _pending.Remove((int)idNode, out done);
                        done?.TrySetResult(node);
                    }
                    else
                    {
                        lock (_events)
                            _events.Add(node);
                    }
                }
            }
            catch (OperationCanceledException) { }
            catch (WebSocketException) { }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            try
            {
                if (_socket.State == WebSocketState.Open)
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            }
            catch (WebSocketException) { }
            if (_reader is not null)
                await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
            _socket.Dispose();
            try
            {
                if (!_process.HasExited)
                    _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (InvalidOperationException) { }
            catch (TimeoutException) { }
            _process.Dispose();
            try { Directory.Delete(_profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
