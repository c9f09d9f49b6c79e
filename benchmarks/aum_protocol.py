"""AUM by the paper's definition (every epoch's margins) and by its authors' runner (the first epoch left out,
training.aum_from_epoch: 2): how far apart, and how well each finds the flipped labels, on the default study's
label-noise model (noise40: the MLP, 40 epochs, 40% of 6,000 training labels flipped).

    .venv/bin/python benchmarks/aum_protocol.py [--seeds 4] [--epochs 40] [--prepared resources/fmnist.npz]

Each seed trains once: the training is the same under both conventions, so a second accumulator sees the same
passes from epoch 2 on. Prints, per seed, the mean shift in logits, the Spearman r between the two, and each one's
AUROC at finding the flipped labels among the seed's training examples (sklearn's roc_auc_score, smaller AUM =
flipped), then the means.
"""

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from pdepth import paths
from pdepth.config.records import JobRecords
from pdepth.config.study import Study
from pdepth.data.augment import Normalizer
from pdepth.data.splits import train_mask
from pdepth.training import loop
from pdepth.training.dynamics import DynamicsObserver, TrainingScores

ROOT = Path(__file__).resolve().parents[1]


class BothConventions(DynamicsObserver):
    """The study's observer, and beside it an accumulator that counts AUM from epoch 2 on."""

    runner: TrainingScores | None = None

    def trained(self, batch, logits, step):
        super().trained(batch, logits, step)
        if BothConventions.runner is None:
            BothConventions.runner = TrainingScores(len(self.labels), self.labels.device)
        BothConventions.runner.observe(batch, logits, self.labels[batch], margin=self.epoch >= 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--prepared", type=Path, default=Path(paths.prepared("fmnist")), help="a study's dataset")
    args = parser.parse_args()
    study = Study.load(ROOT / "config.yaml", ROOT / "configs/label_noise.yaml")
    job = JobRecords(study).train_job("fmnist", "noise40/", "mlp", 0)
    examples = job.examples.load(args.prepared)
    config = replace(job.training, epochs=args.epochs, score_epochs=())
    loop.DynamicsObserver = BothConventions
    normalize = Normalizer(*job.normalisation.resolve(examples), device="cpu")
    rows = []
    for seed in range(args.seeds):
        BothConventions.runner = None
        in_train = train_mask(examples.orig_split, job.holdout_fraction, seed)
        _, result = loop.fit("mlp", job.model_options, examples, in_train, normalize, config, seed, progress=False)
        every = result.outputs.aum[-1][in_train]
        runner = BothConventions.runner.result()["aum"][in_train]
        flipped = examples.mislabelled[in_train]
        rows.append(
            (every.mean() - runner.mean(), spearmanr(every, runner).statistic)
            + (roc_auc_score(flipped, -every), roc_auc_score(flipped, -runner))
        )
        print(
            f"seed {seed}: shift {rows[-1][0]:+.3f} logit, Spearman r {rows[-1][1]:.3f}, AUROC every epoch "
            f"{rows[-1][2]:.3f}, from epoch 2 {rows[-1][3]:.3f}",
            flush=True,
        )
    mean = np.mean(rows, axis=0)
    print(
        f"mean of {args.seeds} seeds: shift {mean[0]:+.3f} logit, Spearman r {mean[1]:.3f}, AUROC every epoch "
        f"{mean[2]:.3f}, from epoch 2 {mean[3]:.3f}"
    )


if __name__ == "__main__":
    main()
