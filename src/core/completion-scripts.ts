/**
 * The scripts `rp completion bash|zsh` prints. Each hands the words typed after `rp` to
 * `rp complete --`, which prints one candidate per line; nothing printed means file names.
 */

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

export function completionScript(shell: CompletionShell, bin: string): string {
  return shell === 'bash' ? bashScript(bin) : zshScript(bin);
}

function bashScript(bin: string): string {
  return `# rp completion for bash: eval "$(${bin} completion bash)" in ~/.bashrc, or save it as
# /etc/bash_completion.d/${bin}
_${bin}_complete() {
  local IFS=$'\\n' candidates
  candidates=$(${bin} complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  COMPREPLY=()
  [ -n "$candidates" ] && COMPREPLY=($(compgen -W "$candidates" -- "\${COMP_WORDS[COMP_CWORD]}"))
  return 0
}
complete -o default -F _${bin}_complete ${bin}
`;
}

function zshScript(bin: string): string {
  return `# rp completion for zsh: eval "$(${bin} completion zsh)" in ~/.zshrc, after compinit
_${bin}_complete() {
  local -a candidates
  candidates=("\${(@f)$(${bin} complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ -z "\${candidates[1]}" ]]; then
    _files
  else
    compadd -- "\${candidates[@]}"
  fi
}
compdef _${bin}_complete ${bin}
`;
}
