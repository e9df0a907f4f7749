# Before Snakemake reads the config file: its YAML is checked, so that a syntax error or a key given
# twice names the file, line and column (Snakemake's own message names neither).

from moflow.errors import InputError
from moflow.inputs import check_config_file

try:
    for _path in ["config/config.yaml", *map(str, workflow.overwrite_configfiles)]:
        check_config_file(_path)
except InputError as exc:
    raise WorkflowError(f"Invalid config: {exc}") from None
