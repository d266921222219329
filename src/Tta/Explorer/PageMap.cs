namespace Tta.Explorer;

/// <summary>A quantised map (<see cref="QuantizedMap"/>) without its codes.</summary>
public sealed record PageMap(int Rows, int Cols, bool Sym, double Min, double Scale, int Masked);
