"""The record of every job of a study (pdepth.config.jobs), built from its checked config alone: what each rule
passes its script as params, and what tests and benchmarks build one job from."""

from dataclasses import dataclass, fields

from pdepth.config import jobs
from pdepth.config.study import Study, Variant
from pdepth.data import registry as datasets


def _floats(values) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(v) for v in values)


@dataclass(frozen=True)
class JobRecords:
    """Every job's record of ``study``: one builder per stage (``job`` finds it by the stage's name)."""

    study: Study

    def example_set(self, dataset: str, variant: Variant) -> jobs.ExampleSet:
        """The examples a variant's models see on ``dataset``: its subset, with its label noise."""
        subset = self.study.subset(variant)
        return jobs.ExampleSet(
            dataset,
            train=subset["train"],
            test=subset["test"],
            subset_seed=subset["seed"],
            label_noise=float(variant.label_noise),
            label_noise_seed=variant.label_noise_seed,
        )

    def normalisation(self, dataset: str) -> jobs.Normalisation:
        """The config's per-channel (mean, std) of ``dataset``; what it leaves out is the original training set's."""
        override = self.study.config["data"]["normalisation"].get(dataset, {})
        return jobs.Normalisation(_floats(override.get("mean")), _floats(override.get("std")))

    def fidelity_job(self) -> jobs.FidelityJob:
        """How the fidelity table tests the paper's claims (the config's ``fidelity``)."""
        block = self.study.config["fidelity"]
        return jobs.FidelityJob(jobs.FidelitySettings.of(block), jobs.Floor(**block["floor"]), block["gain_folds"])

    def detection_job(self, dataset: str, variant: str, arch: str) -> jobs.DetectionJob:
        """Mislabel detection on a label-noise study's model, with the fidelity table's settings."""
        model = jobs.Model(self.study.variant(variant).name, dataset, arch)
        return jobs.DetectionJob(model, self.fidelity_job().settings, self.study.cleanlab_folds)

    def figure_options(self, dataset: str) -> jobs.FigureOptions:
        """How the figures of ``dataset`` are drawn (the config's ``figures``; the fidelity table's floor)."""
        block = self.study.config["figures"]
        fidelity = self.fidelity_job()
        return jobs.FigureOptions(
            corner_class=block["corner_class"].get(dataset) or datasets.get(dataset).figure_class if dataset else "",
            examples_per_class=block["examples_per_class"],
            floor=fidelity.floor,
            settings=fidelity.settings,
        )

    def job(self, stage: str, dataset: str, variant: str = "", arch: str = "", seed: int | str | None = None):
        """The record of one job of ``stage`` (pdepth.config.jobs) for its wildcards (``variant``: a results prefix)."""
        if stage == "prepare":
            return self._prepare_job(dataset)
        if stage in ("cube", "metrics", "detection"):
            by_model = {"cube": self.cube_job, "metrics": self.metrics_job, "detection": self.detection_job}
            return by_model[stage](dataset, variant, arch)
        builders = {
            "train": self.train_job,
            "crossval": self.crossval_job,
            "embed": self.embed_job,
            "margins": self.margins_job,
            "probe": self.probe_job,
        }
        if stage not in builders:
            raise ValueError(f"no job record for stage {stage!r}")
        return builders[stage](dataset, variant, arch, int(seed))

    def cube_job(self, dataset: str, variant: str, arch: str) -> jobs.CubeJob:
        chosen = self.study.variant(variant)
        return jobs.CubeJob(
            jobs.Model(chosen.name, dataset, arch),
            chosen.seeds,
            float(chosen.holdout_fraction),
            self.example_set(dataset, chosen),
            self.normalisation(dataset),
        )

    def metrics_job(self, dataset: str, variant: str, arch: str) -> jobs.MetricsJob:
        block = self.study.config["metrics"]
        model = jobs.Model(self.study.variant(variant).name, dataset, arch)
        return jobs.MetricsJob(model, block["corner_examples"], self.study.gain_layer(arch))

    def _run(self, dataset: str, variant: str, arch: str, seed: int) -> tuple[Variant, jobs.Run, jobs.ExampleSet]:
        chosen = self.study.variant(variant)
        return chosen, jobs.Run(chosen.name, dataset, arch, int(seed)), self.example_set(dataset, chosen)

    def train_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.TrainJob:
        chosen, run, examples = self._run(dataset, variant, arch, seed)
        return jobs.TrainJob(
            run,
            examples,
            float(chosen.holdout_fraction),
            self.study.model_options(arch),
            self.study.training(arch, dataset, chosen),
            self.normalisation(dataset),
            self.study.config["device"],
            self.study.config["checkpoint_every"],
        )

    def crossval_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.CrossvalJob:
        return jobs.CrossvalJob(self.train_job(dataset, variant, arch, seed), self.study.cleanlab_folds)

    def embed_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.EmbedJob:
        chosen, run, examples = self._run(dataset, variant, arch, seed)
        probe = self.study.config["probe"]
        reduction = jobs.Reduction(
            probe["max_dim"], probe["reduction"], probe["reduction_seed"], probe["embedding_dtype"]
        )
        batch_size = self.study.training(arch, dataset, chosen).eval_batch_size
        return jobs.EmbedJob(
            run, examples, self.normalisation(dataset), self.study.config["device"], batch_size, reduction
        )

    def margins_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.MarginsJob:
        _, run, examples = self._run(dataset, variant, arch, seed)
        margin = jobs.InputMargin(**self.study.config["metrics"]["input_margin"])
        return jobs.MarginsJob(run, examples, self.normalisation(dataset), self.study.config["device"], margin)

    def probe_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.ProbeJob:
        _, run, examples = self._run(dataset, variant, arch, seed)
        options = {f.name: self.study.config["probe"][f.name] for f in fields(jobs.ProbeOptions)}
        return jobs.ProbeJob(run, examples, self.study.config["device"], jobs.ProbeOptions(**options))

    def probe_run(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.ProbeRun:
        """One seed's part of a probe job: its embeddings, their probes, its input margins."""
        wildcards = (dataset, variant, arch, seed)
        return jobs.ProbeRun(self.embed_job(*wildcards), self.probe_job(*wildcards), self.margins_job(*wildcards))

    def _prepare_job(self, dataset: str) -> jobs.PrepareJob:
        data = self.study.config["data"]
        return jobs.PrepareJob(
            dataset,
            data_dir=data["data_dir"],
            use_system_copies=data["use_system_copies"],
            download=data["download"],
            mirrors=tuple(data["mirrors"].get(dataset, [])),
            retries=data["retries"],
            checksums=dict(data["checksums"].get(dataset, {})),
        )
