using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// Runs a checkpoint on the <c>inputs</c> object of a case.json (the reference fixtures' format) in float32 and names
/// every captured tensor the way the fixtures do, so a researcher can diff our internals against a PyTorch run.
/// </summary>
public static class ForwardRunner
{
    public static ModelInputs ReadInputs(string caseJsonPath)
    {
        var root = JsonNode.Parse(File.ReadAllText(caseJsonPath))?.AsObject()
            ?? throw new InvalidDataException($"{caseJsonPath}: not a JSON object");
        var inputs = (root["inputs"] ?? root).AsObject();
        Tensor? Get(string name) => inputs[name] is JsonArray a ? ToTensor(a, caseJsonPath, name) : null;
        var ids = Get("input_ids") ?? throw new InvalidDataException($"{caseJsonPath}: inputs.input_ids is missing");
        var mask = Get("attention_mask") ?? ones_like(ids);
        return new ModelInputs(ids, mask, Get("token_type_ids"), Get("decoder_input_ids"), Get("decoder_attention_mask"));
    }

    private static Tensor ToTensor(JsonArray rows, string path, string name)
    {
        var data = rows.Select(r => r!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray();
        if (data.Length == 0 || data.Any(r => r.Length != data[0].Length))
            throw new InvalidDataException($"{path}: inputs.{name} must be a non-empty rectangular list of lists");
        return tensor(data.SelectMany(r => r).ToArray(), [data.Length, data[0].Length], ScalarType.Int64);
    }

    /// <summary>Fixture name of a capture point: output fields as is, softmax calls by call order, modules as <c>module:path</c>.</summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> FixtureNames(IEnumerable<CapturedTensor> captured)
    {
        // The reference recorder saw every attention softmax twice (two consecutive calls with identical inputs and
        // outputs, in every fixture), so our softmax k is its calls 2k and 2k+1.
        var softmax = 0;
        foreach (var (point, value) in captured)
        {
            switch (point.Kind)
            {
                case CaptureKind.HiddenState or CaptureKind.Attentions or CaptureKind.Output or CaptureKind.Logits:
                    yield return new(point.Name, value); // output fields keep their names
                    break;
                case CaptureKind.AttentionScores:
                    yield return new($"module:softmax_call.{2 * softmax}.scores", value);
                    yield return new($"module:softmax_call.{2 * softmax + 1}.scores", value);
                    break;
                case CaptureKind.AttentionProbs:
                    yield return new($"module:softmax_call.{2 * softmax}.probs", value);
                    yield return new($"module:softmax_call.{2 * softmax + 1}.probs", value);
                    softmax++;
                    break;
                case CaptureKind.PositionBias:
                    break; // the fixtures hold it as module:<attention>#1
                default:
                    yield return new("module:" + point.Name, value);
                    break;
            }
        }
    }

    /// <summary>Runs the model directory on the case's inputs and writes every captured tensor to <paramref name="output"/>.</summary>
    /// <param name="configure">adjusts the loaded model before the run (e.g. a reference-compatibility switch).</param>
    public static int Run(string modelDirectory, string caseJsonPath, string output, TextWriter log,
        Action<ITransformerModel>? configure = null)
    {
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Load(modelDirectory, ScalarType.Float32);
        configure?.Invoke(model);
        var inputs = ReadInputs(caseJsonPath);
        using var capture = ActivationCapture.All();
        model.Run(inputs, capture);
        var named = FixtureNames(capture.Captured).ToList();
        var all = named.Concat(InputTensors(inputs)).ToList();
        SafetensorsFile.Write(output, all);
        log.WriteLine($"forward: {model.ModelType} on {Path.GetFileName(caseJsonPath)} -> {output} ({named.Count} tensors)");
        return 0;
    }

    private static IEnumerable<KeyValuePair<string, Tensor>> InputTensors(ModelInputs i)
    {
        yield return new("input:input_ids", i.InputIds);
        yield return new("input:attention_mask", i.AttentionMask);
        if (i.TokenTypeIds is { } t) yield return new("input:token_type_ids", t);
        if (i.DecoderInputIds is { } d) yield return new("input:decoder_input_ids", d);
        if (i.DecoderAttentionMask is { } m) yield return new("input:decoder_attention_mask", m);
    }
}
