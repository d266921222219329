using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>One recorded tensor and the point it was recorded at.</summary>
public sealed record CapturedTensor(CapturePoint Point, Tensor Value);
