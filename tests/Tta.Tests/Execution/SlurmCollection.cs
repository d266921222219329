namespace Tta.Tests.Execution;

/// <summary>Every test that needs the Slurm cluster shares one start and stop of it.</summary>
[CollectionDefinition("slurm")]
public sealed class SlurmCollection : ICollectionFixture<SlurmCluster>;
