namespace Tta.Explorer;

/// <summary>Names a capture point for captions (stack, point, layer → e.g. "encoder · layer 0 · hidden_states.0", <see cref="Figures.LayerNames.Map"/>) with its depth (<see cref="Depth"/>).</summary>
public delegate (string Label, double Depth) PointDescriber(string stack, string point, int layer);
