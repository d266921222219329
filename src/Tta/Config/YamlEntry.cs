using YamlDotNet.RepresentationModel;

namespace Tta.Config;

/// <summary>One <c>key: value</c> entry of a YAML mapping, both nodes kept for their positions.</summary>
public sealed record YamlEntry(YamlNode Key, YamlNode Value);
