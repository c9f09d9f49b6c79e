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
    log:
        f"{LOGS}/figures/pd_distribution_{{arch}}.log",
    conda:
        "../envs/pdepth.yaml"
    params:
        datasets=STUDY.datasets,
    script:
        "../scripts/plot_pd_distribution.py"


rule plot_inference_learning_curve:
    input:
        cube=model_file("cube.nc"),
    output:
        png=report(
            model_file("figures/knn_accuracy.png"),
            caption="../report/knn_accuracy.rst",
            category="Inference learning curve",
        ),
        pdf=model_file("figures/knn_accuracy.pdf"),
    log:
        f"{LOGS}/{{variant}}{{dataset}}/{{arch}}/plot_knn_accuracy.log",
    conda:
        "../envs/pdepth.yaml"
    script:
        "../scripts/plot_inference_learning_curve.py"
