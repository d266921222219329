namespace Tta.Explorer;

/// <summary>Names a capture point for captions (stack, point, layer → e.g. "embeddings (hidden_states.0)") with its depth (<see cref="Depth"/>).</summary>
public delegate (string Label, double Depth) PointDescriber(string stack, string point, int layer);
