# Figures, drawn from the cubes only.


localrules:
    plot_pd_distribution,
    plot_inference_learning_curve,


rule plot_pd_distribution:
    input:
        cubes=expand(
            f"{RESULTS}/{{dataset}}/{{{{arch}}}}/cube.nc", dataset=STUDY.datasets
        ),
    output:
        png=report(
            f"{RESULTS}/figures/pd_distribution_{{arch}}.png",
            caption="../report/pd_distribution.rst",
            category="Prediction depth",
        ),
        pdf=f"{RESULTS}/figures/pd_distribution_{{arch}}.pdf",
    conda:
        "../envs/pdepth.yaml"
    log:
        f"{LOGS}/figures/pd_distribution_{{arch}}.log",
    params:
        datasets=STUDY.datasets,
    script:
        "../scripts/plot_pd_distribution.py"


rule plot_inference_learning_curve:
    input:
        cube=f"{RESULTS}/{{dataset}}/{{arch}}/cube.nc",
    output:
        png=report(
            f"{RESULTS}/{{dataset}}/{{arch}}/figures/knn_accuracy.png",
            caption="../report/knn_accuracy.rst",
            category="Inference learning curve",
        ),
        pdf=f"{RESULTS}/{{dataset}}/{{arch}}/figures/knn_accuracy.pdf",
    conda:
        "../envs/pdepth.yaml"
    log:
        f"{LOGS}/{{dataset}}/{{arch}}/plot_knn_accuracy.log",
    script:
        "../scripts/plot_inference_learning_curve.py"
