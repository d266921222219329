/// <summary>One option: its name (without <c>--</c>), whether it takes a value, where it is accepted, what it does.</summary>
internal sealed record KnownOption(string Name, bool TakesValue, OptionScope Scope, string Help);
