namespace Tta.Config;

/// <summary>Bad input in an experiment file: the message starts with <c>file:line:column:</c> and says how to fix it.</summary>
public sealed class ConfigException(string message) : Exception(message)
{
    public ConfigException(SourceSpan at, string message) : this($"{at}: {message}") { }
}
