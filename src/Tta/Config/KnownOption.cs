namespace Tta.Config;

/// <summary>One option: its name (without <c>--</c>), whether it takes a value, where it is accepted, what it does.</summary>
public sealed record KnownOption(string Name, bool TakesValue, OptionScope Scope, string Help);
