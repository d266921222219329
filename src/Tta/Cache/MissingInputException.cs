namespace Tta.Cache;

/// <summary>A unit's input is not built yet (its upstream stage has not run): the unit is stale.</summary>
public sealed class MissingInputException(string message) : Exception(message);
