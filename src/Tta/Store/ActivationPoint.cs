namespace Tta.Store;

/// <summary>
/// Identifies one block of vectors in a store file: a capture point (HF module path or <c>hidden_states.N</c>), the
/// stack it belongs to, its layer, the head (null when not per-head) and, in metrics files, the measure.
/// </summary>
public sealed record ActivationPoint(string Point, string Stack, int Layer, int? Head = null, string? Measure = null);
