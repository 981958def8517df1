// A workflow's steps as a graph laid out by dagre (top to bottom), drawn in SVG. Each step is a
// focusable button; with `statuses` it is coloured by its status in a run.
import { Graph, layout } from '@dagrejs/dagre'
import { useMemo } from 'preact/hooks'
import type { Definition, StepDefinition } from './types'

const WIDTH = 200
/** What fits on a node's second line at its font size. */
const LINE_CHARS = 34
const HEIGHT = 48

interface Laid {
  width: number
  height: number
  nodes: { step: StepDefinition; x: number; y: number }[]
  edges: { from: string; to: string; handle: string | undefined; points: { x: number; y: number }[] }[]
}

/** What kind of step it is, when it is one the graph marks. */
export function stepKind(step: StepDefinition): string | undefined {
  if (step.forEach !== undefined) return 'forEach'
  if (step.uses === 'workflow.run') return 'sub-workflow'
  if (step.uses === 'flow.wait') return 'wait'
  if (step.uses === 'flow.delay') return 'delay'
  return undefined
}

/** `needs` entries are `step` or `step:handle`. */
function parseNeed(need: string): { from: string; handle: string | undefined } {
  const at = need.indexOf(':')
  return at < 0 ? { from: need, handle: undefined } : { from: need.slice(0, at), handle: need.slice(at + 1) }
}

export function layoutSteps(steps: StepDefinition[]): Laid {
  const g = new Graph({ multigraph: true })
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 40, marginx: 8, marginy: 8 })
  g.setDefaultEdgeLabel(() => ({}))
  const ids = new Set(steps.map((s) => s.id))
  for (const step of steps) g.setNode(step.id, { width: WIDTH, height: HEIGHT })
  for (const step of steps) {
    for (const need of step.needs ?? []) {
      const { from, handle } = parseNeed(need)
      if (!ids.has(from)) continue
      const label = handle ? { label: handle, width: handle.length * 7 + 8, height: 14, labelpos: 'c' } : {}
      g.setEdge(from, step.id, label, `${from}>${step.id}>${handle ?? ''}`)
    }
  }
  layout(g)
  const label = g.graph() as { width?: number; height?: number }
  return {
    width: label.width ?? WIDTH,
    height: label.height ?? HEIGHT,
    nodes: steps.map((step) => {
      const n = g.node(step.id) as { x: number; y: number }
      return { step, x: n.x - WIDTH / 2, y: n.y - HEIGHT / 2 }
    }),
    edges: g.edges().map((e) => {
      const edge = g.edge(e) as { points: { x: number; y: number }[]; label?: string }
      return { from: e.v, to: e.w, handle: edge.label, points: edge.points }
    }),
  }
}

/** A line cut to fit its node; the step's panel has it whole. A sub-workflow, wait or delay step's
 * kind names its action, so the line says only the kind (and the status, which must not be cut). */
const clipLine = (line: string) => (line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS - 1)}…` : line)

const path = (points: { x: number; y: number }[]) =>
  points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')

export function StepGraph(props: {
  definition: Definition
  statuses?: Record<string, string>
  selected?: string
  onSelect?: (stepId: string) => void
}) {
  const laid = useMemo(() => layoutSteps(props.definition.steps), [props.definition])
  const select = (id: string) => props.onSelect?.(id)
  return (
    <div class="graph">
      {/* biome-ignore lint/a11y/useSemanticElements: the steps of a drawing, not a form's fields */}
      <svg
        role="group"
        aria-label={`graph of ${props.definition.steps.length} steps`}
        viewBox={`0 0 ${laid.width} ${laid.height}`}
        width={laid.width}
        height={laid.height}
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" class="arrow" />
          </marker>
        </defs>
        {laid.edges.map((e) => {
          const mid = e.points[Math.floor(e.points.length / 2)]
          return (
            <g key={`${e.from}>${e.to}>${e.handle ?? ''}`} class="edge">
              <path d={path(e.points)} marker-end="url(#arrow)" />
              {e.handle && mid && (
                <text x={mid.x} y={mid.y + 4} text-anchor="middle" class="handle">
                  {e.handle}
                </text>
              )}
            </g>
          )
        })}
        {laid.nodes.map(({ step, x, y }) => {
          const status = props.statuses?.[step.id]
          const kind = stepKind(step)
          return (
            // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>
            <g
              key={step.id}
              class={`node${props.selected === step.id ? ' selected' : ''}`}
              data-step={step.id}
              data-status={status ?? 'none'}
              transform={`translate(${x},${y})`}
              role="button"
              tabIndex={0}
              aria-pressed={props.selected === step.id}
              onClick={() => select(step.id)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault()
                  select(step.id)
                }
              }}
            >
              <rect width={WIDTH} height={HEIGHT} rx="6" class={`status-${status ?? 'none'}`} />
              <text x="10" y="19" class="step-id">
                {step.id.length > 22 ? `${step.id.slice(0, 21)}…` : step.id}
              </text>
              <text x="10" y="37" class="step-uses">
                {clipLine(
                  [kind === 'forEach' ? `forEach · ${step.uses}` : (kind ?? step.uses), status]
                    .filter(Boolean)
                    .join(' · '),
                )}
              </text>
            </g>
          )
        })}
      </svg>
    </div>
  )
}
