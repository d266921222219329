using System.Text;

namespace Tta.Download.Hub;

/// <summary>
/// How <see cref="HubClient"/> reaches the Hugging Face Hub and where it caches files. <see cref="FromEnvironment()"/>
/// reads the same variables as Python's huggingface_hub. The token is never part of <see cref="ToString"/>.
/// </summary>
public sealed record HubSettings
{
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Hub address without a trailing slash (<c>HF_ENDPOINT</c>).</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>The hub cache folder holding <c>models--org--name/</c> folders (<c>HF_HUB_CACHE</c>).</summary>
    public required string CacheDir { get; init; }

    /// <summary>Access token sent as <c>Authorization: Bearer</c> to the endpoint only; never printed.</summary>
    public string? Token { get; init; }

    /// <summary><c>HF_HUB_OFFLINE</c>: no network request at all, the cache must hold everything.</summary>
    public bool Offline { get; init; }

    /// <summary>Files downloaded at the same time.</summary>
    public int MaxParallelDownloads { get; init; } = 4;

    /// <summary>Tries per request on connection errors, time-outs, 5xx and 429 (consecutive ones without progress).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>First wait between tries; doubles each time up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Limit for metadata requests (API, HEAD) and for connecting (<c>HF_HUB_ETAG_TIMEOUT</c>).</summary>
    public TimeSpan MetadataTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for the next bytes of a download before it is retried (<c>HF_HUB_DOWNLOAD_TIMEOUT</c>).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Full fetches of one file whose checksum does not match before giving up.</summary>
    public int MaxIntegrityAttempts { get; init; } = 3;

    /// <summary>Interval of the plain progress lines written when the progress writer is not a terminal.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for another process (or Python) that is downloading the same blob.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    public static HubSettings FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Settings from variables read through <paramref name="env"/> (tests pass a dictionary).</summary>
    public static HubSettings FromEnvironment(Func<string, string?> env)
    {
        string? Get(string name) => env(name) is { Length: > 0 } v ? v.Trim() : null;

        var home = Get("HF_HOME") is { } h
            ? ExpandHome(h, env)
            : Path.Combine(Get("XDG_CACHE_HOME") is { } x ? ExpandHome(x, env) : Path.Combine(UserHome(env), ".cache"), "huggingface");
        var cache = Get("HF_HUB_CACHE") ?? Get("HUGGINGFACE_HUB_CACHE");
        var endpoint = (Get("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/');

        var settings = new HubSettings
        {
            Endpoint = endpoint,
            CacheDir = Path.GetFullPath(cache is null ? Path.Combine(home, "hub") : ExpandHome(cache, env)),
            Token = Get("HF_TOKEN") ?? Get("HUGGING_FACE_HUB_TOKEN")
                ?? ReadTokenFile(Get("HF_TOKEN_PATH") is { } p ? ExpandHome(p, env) : Path.Combine(home, "token")),
            Offline = IsTrue(Get("HF_HUB_OFFLINE")),
        };
        if (Seconds(Get("HF_HUB_ETAG_TIMEOUT")) is { } etag) settings = settings with { MetadataTimeout = etag };
        if (Seconds(Get("HF_HUB_DOWNLOAD_TIMEOUT")) is { } dl) settings = settings with { ReadTimeout = dl };
        return settings;
    }

    private static bool IsTrue(string? value) =>
        value is not null && value.ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static TimeSpan? Seconds(string? value) =>
        double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : null;

    private static string? ReadTokenFile(string path)
    {
        try
        {
            return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } t ? t : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static string UserHome(Func<string, string?> env) =>
        env("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string ExpandHome(string path, Func<string, string?> env) =>
        path == "~" ? UserHome(env)
        : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(UserHome(env), path[2..])
        : path;

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Endpoint = {Endpoint}, CacheDir = {CacheDir}, Token = {(Token is null ? "none" : "(set)")}, ");
        builder.Append($"Offline = {Offline}, MaxParallelDownloads = {MaxParallelDownloads}, MaxAttempts = {MaxAttempts}");
        return true;
    }
}
