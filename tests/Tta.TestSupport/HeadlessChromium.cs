using System.Diagnostics;
using System.Text.Json;
using PuppeteerSharp;
using Xunit.Abstractions;

namespace Tta.Tests;

/// <summary>
/// Debian's <c>chromium</c> (installed with apt-get by the test setup when missing) driven by PuppeteerSharp, with the
/// network switched off in the browser. Records console errors, page errors, failed requests and every requested
/// URL of the page.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly IBrowser browser;
    private readonly string profile;

    public IPage Page { get; }
    public List<string> Errors { get; } = [];
    public List<string> Requests { get; } = [];

    private HeadlessChromium(IBrowser browser, IPage page, string profile)
    {
        this.browser = browser;
        this.profile = profile;
        Page = page;
        page.Console += (_, e) =>
        {
            if (e.Message.Type is ConsoleType.Error or ConsoleType.Assert) lock (Errors) Errors.Add("console: " + e.Message.Text);
        };
        page.PageError += (_, e) => { lock (Errors) Errors.Add("page error: " + e.Message); };
        page.RequestFailed += (_, e) => { lock (Errors) Errors.Add($"request failed: {e.Request.Url} {e.Request.FailureText}"); };
        page.Request += (_, e) => { lock (Requests) Requests.Add(e.Request.Url); };
    }

    /// <summary>The browser, or null (after saying why) when it is missing and cannot be installed outside CI.</summary>
    public static async Task<HeadlessChromium?> StartOrSkip(ITestOutputHelper log)
    {
        var executable = Find() ?? Install(log);
        if (executable is null)
        {
            // In CI the browser check must run; elsewhere (no apt, not root) say clearly that it did not.
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "chromium is missing and could not be installed with apt-get");
            log.WriteLine("SKIPPED: chromium is not installed and `apt-get install -y chromium` failed; the browser check did not run");
            return null;
        }
        var profile = Repo.TempDir();
        var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            UserDataDir = profile,
            DefaultViewport = new ViewPortOptions { Width = 1280, Height = 900 },
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions"],
        });
        var page = await browser.NewPageAsync();
        await page.SetOfflineModeAsync(true);
        return new HeadlessChromium(browser, page, profile);
    }

    /// <summary>Opens a local file and waits for its load event.</summary>
    public async Task Open(string file)
    {
        lock (Errors) Errors.Clear();
        lock (Requests) Requests.Clear();
        await Page.GoToAsync(new Uri(file).AbsoluteUri, new NavigationOptions { WaitUntil = [WaitUntilNavigation.Load], Timeout = 120_000 });
    }

    /// <summary>Evaluates a JS expression (awaited if a promise) whose value is JSON-serialisable.</summary>
    public async Task<JsonElement> Json(string expression)
    {
        var text = await Page.EvaluateExpressionAsync<string>($"(async () => {{ const v = await ({expression}); return JSON.stringify(v === undefined ? null : v); }})()");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
            foreach (var name in new[] { "chromium", "chromium-browser" })
                if (File.Exists(Path.Combine(dir, name)))
                    return Path.Combine(dir, name);
        return null;
    }

    private static string? Install(ITestOutputHelper log)
    {
        log.WriteLine("chromium missing: apt-get install -y chromium");
        foreach (var args in new[] { "install -y chromium", "update", "install -y chromium" })
        {
            if (args == "update" && Find() is not null) break;
            var psi = new ProcessStartInfo("apt-get", args) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            try
            {
                using var p = Process.Start(psi)!;
                var err = p.StandardError.ReadToEndAsync();
                p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0) log.WriteLine($"apt-get {args} failed ({p.ExitCode}): {err.Result.Trim()}");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                log.WriteLine("apt-get unavailable: " + e.Message);
                return null;
            }
        }
        return Find();
    }

    public async ValueTask DisposeAsync()
    {
        await browser.CloseAsync();
        browser.Dispose();
        try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
