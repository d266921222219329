using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tta.Explorer;

/// <summary>
/// One entry of a view of the page (a similarity map, an attention head, a projection, a series' nearest tokens):
/// each metric kind with a view defines its own, and the page's JSON holds each as its own type says
/// (<see cref="ViewEntryJsonConverter"/>).
/// </summary>
public abstract record ViewEntry;

/// <summary>Writes a <see cref="ViewEntry"/> as its runtime type (the page's script reads every field of it).</summary>
public sealed class ViewEntryJsonConverter : JsonConverter<ViewEntry>
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert == typeof(ViewEntry);

    public override ViewEntry Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("the explorer page's data is written, never read back");

    public override void Write(Utf8JsonWriter writer, ViewEntry value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, value.GetType(), options);
}
