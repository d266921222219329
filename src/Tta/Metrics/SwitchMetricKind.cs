using Tta.Config;
using YamlDotNet.RepresentationModel;

namespace Tta.Metrics;

/// <summary>A metric kind with no settings: <c>KEY: true</c> turns it on, <c>false</c> (or leaving it out) off.</summary>
public abstract class SwitchMetricKind : MetricKind<bool>
{
    public override string Example => $"{Name}: true";

    public override object? Read(YamlNodeReader reader, YamlNode value) => reader.Bool(value, Name) ? true : null;
}
