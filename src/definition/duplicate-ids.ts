// Two files that define one workflow id would deploy as two versions of one workflow, the later file
// silently replacing the earlier one at every start. Both files are named instead. Pure.

export interface DefinedIn {
  file: string
  id: string | undefined
}

/** Per file whose workflow id another file defines too: the message that names the others. */
export function duplicateIds(entries: DefinedIn[]): Map<string, string> {
  const files = new Map<string, string[]>()
  for (const { file, id } of entries) {
    if (id === undefined) continue
    files.set(id, [...(files.get(id) ?? []), file])
  }
  const out = new Map<string, string>()
  for (const [id, all] of files) {
    if (all.length < 2) continue
    for (const file of all) {
      const others = all.filter((f) => f !== file).join(', ')
      out.set(file, `workflow id '${id}' is also defined in ${others}: each id belongs to one file`)
    }
  }
  return out
}
