namespace Tta.Download.Hub;

/// <summary>A download problem explained for the user. Messages never contain the access token.</summary>
public sealed class HubException(HubErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public HubErrorKind Kind { get; } = kind;
}
