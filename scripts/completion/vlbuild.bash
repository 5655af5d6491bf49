# Bash completion for vlbuild: options, commands, the rules and sources of the
# project in the current directory (or -C DIR), and NAME=VALUE variables.
# `cmake --install` puts it in PREFIX/share/bash-completion/completions/vlbuild,
# where bash-completion finds it; from a checkout, source it from ~/.bashrc.
_vlbuild() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
    }
    case "$prev" in
    -C | --cache-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -f | --trace | --slurm-config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -j | -k | --gpus | --gpu-devices | --memory-budget | -D | --remote-cache) return ;;
    --executor) COMPREPLY=($(compgen -W "local slurm" -- "$cur")); return ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "-C -f -j -k -n -v -q -D --gpus --gpu-devices --memory-budget --trace
            --no-wait --cache-dir --remote-cache --remote-cache-readonly --no-cache
            --executor --slurm-config --help --version" -- "$cur"))
        return
    fi
    local dir=. i
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        [ "${COMP_WORDS[i]}" = -C ] && dir=${COMP_WORDS[i + 1]}
    done
    local targets
    targets=$(vlbuild -C "$dir" targets 2>/dev/null)
    COMPREPLY=($(compgen -W "explain graph status clean actions cache meta targets $targets" -- "$cur"))
    [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))
}
complete -F _vlbuild vlbuild
