# Data stage: find (pre-staged, system copy, or download), verify and prepare each dataset.


rule prepare_dataset:
    output:
        paths.prepared(),
    log:
        f"{LOGS}/{{dataset}}/prepare.log",
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    params:
        job=job_record("prepare"),
    script:
        "../scripts/prepare_dataset.py"
