// Generated from the OpenAPI document (src/http/openapi.ts) by `npm run openapi:types`: do not edit.
/* biome-ignore-all format: generated */
export interface paths {
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness */
        get: operations["health"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: the database answers and the worker pool is up */
        get: operations["ready"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics */
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document */
        get: operations["openApi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workflows": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List workflows (their current versions) */
        get: operations["listWorkflows"];
        put?: never;
        /** Create a workflow (JSON, or YAML with Content-Type application/yaml) */
        post: operations["createWorkflow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workflows/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        /** The current version, or ?version=N */
        get: operations["getWorkflow"];
        /** Store a new version (runs under way keep theirs) */
        put: operations["updateWorkflow"];
        post?: never;
        /** Delete it and its triggers (its runs stay readable) */
        delete: operations["deleteWorkflow"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workflows/{id}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Pause it: its triggers start nothing and starts through the API answer 409 (runs under way go on) */
        post: operations["pauseWorkflow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workflows/{id}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Resume it: its triggers start runs again (due times missed while paused do not fire) */
        post: operations["resumeWorkflow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workflows/{id}/runs": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Start a run; with ?wait= answer with the finished run when it ends in time */
        post: operations["startRun"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List runs, newest first */
        get: operations["listRuns"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        /** A run; with ?wait= answer once it has ended or the time is up */
        get: operations["getRun"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs/{id}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        /** The run's log lines, oldest first */
        get: operations["getRunLogs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs/{id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        /** Server-Sent Events of the run: a snapshot, then every change and log line, until it ends */
        get: operations["getRunEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancel a run that has not ended */
        post: operations["cancelRun"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs/{id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Go on from the failed steps of a failed run */
        post: operations["retryRun"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs/{id}/signals/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
                /** @description the signal name */
                name: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Send the run a signal (buffered when no step waits for it yet) */
        post: operations["signalRun"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runs/{id}/steps/{stepId}/items": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
                /** @description a forEach step */
                stepId: string;
            };
            cookie?: never;
        };
        /** A forEach step's ended items, in order */
        get: operations["listStepItems"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/signals/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the signal name */
                name: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Send a signal to every run waiting for that name and key (not buffered) */
        post: operations["broadcastSignal"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/stats/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Per workflow: its runs since a time (default 24h) by status, and its newest run */
        get: operations["runStats"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/pieces": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Loaded pieces, with the JSON Schemas of their props */
        get: operations["listPieces"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/secrets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every named secret: name, source and dates, never a value */
        get: operations["listSecrets"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/secrets/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the secret name: 1-128 letters, digits, _ . - */
                name: string;
            };
            cookie?: never;
        };
        get?: never;
        /** Store a secret, sealed with AES-256-GCM (write-only: no answer holds the value) */
        put: operations["putSecret"];
        post?: never;
        /** Delete a stored secret (those of the configuration are read-only) */
        delete: operations["deleteSecret"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/signals/{token}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the signed token of a $signalUrl link */
                token: string;
            };
            cookie?: never;
        };
        /** The signed link of $signalUrl: a page whose button posts; delivers nothing */
        get: operations["signalLinkPage"];
        put?: never;
        /** Deliver the signal: the JSON body (or the form fields) is its data */
        post: operations["signalLinkDeliver"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/hooks/{path}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the trigger's path */
                path: string;
            };
            cookie?: never;
        };
        /** Webhook trigger (GET; a trigger names the method it takes, or ANY) */
        get: operations["hookGet"];
        /** Webhook trigger (PUT; a trigger names the method it takes, or ANY) */
        put: operations["hookPut"];
        /** Webhook trigger (POST; a trigger names the method it takes, or ANY) */
        post: operations["hookPost"];
        /** Webhook trigger (DELETE; a trigger names the method it takes, or ANY) */
        delete: operations["hookDelete"];
        options?: never;
        head?: never;
        /** Webhook trigger (PATCH; a trigger names the method it takes, or ANY) */
        patch: operations["hookPatch"];
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Error: {
            error: {
                code: string;
                message: string;
                details?: {
                    path: string;
                    message: string;
                }[];
            };
        };
        WorkflowDefinition: {
            id: string;
            name?: string;
            description?: string;
            trigger: {
                uses: string;
                /** @default {} */
                with?: {
                    [key: string]: unknown;
                };
            };
            steps: {
                id: string;
                name?: string;
                uses: string;
                /** @default {} */
                with?: {
                    [key: string]: unknown;
                };
                /** @default [] */
                needs?: string | string[];
                /**
                 * @default all
                 * @enum {string}
                 */
                join?: "all" | "any";
                retry?: {
                    attempts: number;
                    /**
                     * @default fixed
                     * @enum {string}
                     */
                    backoff?: "fixed" | "exponential";
                    /** @default 1s */
                    delay?: number | string;
                    maxDelay?: number | string;
                    /** @enum {string} */
                    jitter?: "full" | "none";
                };
                timeout?: number | string;
                /**
                 * @default fail
                 * @enum {string}
                 */
                onError?: "fail" | "continue" | "branch";
                forEach?: unknown;
            }[];
            output?: unknown;
            concurrency?: number;
            onFailure?: string;
        };
        Workflow: {
            id: string;
            name: string | null;
            version: number;
            triggerKind: string;
            definition: {
                [key: string]: unknown;
            };
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            paused: boolean;
            pausedAt: string | null;
        };
        WorkflowPage: {
            items: {
                id: string;
                name: string | null;
                version: number;
                triggerKind: string;
                /** Format: date-time */
                createdAt: string;
                /** Format: date-time */
                updatedAt: string;
                paused: boolean;
                pausedAt: string | null;
            }[];
            nextCursor: string | null;
        };
        Run: {
            id: string;
            workflowId: string;
            workflowVersion: number;
            /** @enum {string} */
            status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";
            input: unknown;
            output: unknown;
            error: unknown;
            /** Format: date-time */
            createdAt: string;
            startedAt: string | null;
            finishedAt: string | null;
            parentRunId: string | null;
            parentStepId: string | null;
            steps: {
                id: string;
                /** @enum {string} */
                status: "pending" | "running" | "waiting" | "succeeded" | "failed" | "skipped" | "cancelled";
                attempts: number;
                input?: unknown;
                handle?: string;
                output: unknown;
                error: unknown;
                startedAt: string | null;
                finishedAt: string | null;
                items?: {
                    total: number;
                    succeeded: number;
                    failed: number;
                    running: number;
                };
                childRunId?: string;
                waitingFor?: {
                    signal: string;
                    key?: unknown;
                    /** Format: date-time */
                    until?: string;
                };
            }[];
        };
        RunPage: {
            items: {
                id: string;
                workflowId: string;
                workflowVersion: number;
                /** @enum {string} */
                status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";
                /** Format: date-time */
                createdAt: string;
                startedAt: string | null;
                finishedAt: string | null;
            }[];
            nextCursor: string | null;
        };
        RunStarted: {
            id: string;
            /** @enum {string} */
            status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";
        };
        LogPage: {
            items: {
                /** Format: date-time */
                ts: string;
                level: string;
                stepId: string | null;
                msg: string;
                data: unknown;
            }[];
            nextCursor: string | null;
        };
        ItemPage: {
            items: {
                index: number;
                status: string;
                attempts: number;
                output: unknown;
                error: unknown;
                childRunId?: string;
                finishedAt: string | null;
            }[];
            nextCursor: string | null;
        };
        SignalTaken: {
            taken: string | null;
        };
        RunStatsPage: {
            /** Format: date-time */
            since: string;
            items: {
                workflowId: string;
                counts: {
                    [key: string]: number;
                };
                lastRun: {
                    id: string;
                    /** @enum {string} */
                    status: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";
                    /** Format: date-time */
                    createdAt: string;
                } | null;
            }[];
            nextCursor: null;
        };
        Delivered: {
            delivered: number;
        };
        PiecePage: {
            items: {
                name: string;
                version: string;
                title: string;
                description: string | null;
                source: string;
                auth: {
                    type: string;
                    required: boolean;
                    baseUrl: string | null;
                    description: string | null;
                    configKey: string;
                    fields?: string[];
                    configured?: boolean;
                } | null;
                actions: {
                    name: string;
                    uses: string;
                    title: string;
                    description: string | null;
                    props: unknown;
                    output: unknown | null;
                    handles?: string[] | null;
                }[];
                triggers: {
                    name: string;
                    kind: string;
                    title: string;
                    description: string | null;
                    props: unknown;
                }[];
            }[];
            nextCursor: string | null;
        };
        Health: {
            /** @constant */
            status: "ok";
        };
        Ready: {
            /** @constant */
            status: "ready";
            database: string;
            threads: number;
            sandboxThreads: number;
            threadsUp: number;
        };
        Secret: {
            name: string;
            /** @enum {string} */
            source: "config" | "api";
            createdAt: string | null;
            updatedAt: string | null;
        };
        SecretPage: {
            items: {
                name: string;
                /** @enum {string} */
                source: "config" | "api";
                createdAt: string | null;
                updatedAt: string | null;
            }[];
            nextCursor: string | null;
        };
    };
    responses: {
        /** @description an error */
        Error: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description bad input: every problem in `details` */
        Error400: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description no API key, or a wrong one */
        Error401: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description a signal link that is not valid */
        Error403: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description no such workflow, run, step or route */
        Error404: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description a method the webhook does not take */
        Error405: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description the state forbids it (a run that has ended, a workflow that exists) */
        Error409: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description the body is too large */
        Error413: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description a body that is neither JSON nor (where taken) YAML */
        Error415: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description well-formed but unusable */
        Error422: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
    };
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    health: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description serving */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    ready: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description ready */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Ready"];
                };
            };
            503: components["responses"]["Error"];
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
        };
    };
    openApi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the OpenAPI 3.1 document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
        };
    };
    listWorkflows: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description every workflow */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkflowPage"];
                };
            };
            401: components["responses"]["Error401"];
            default: components["responses"]["Error"];
        };
    };
    createWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WorkflowDefinition"];
                "application/yaml": string;
            };
        };
        responses: {
            /** @description the stored workflow, version 1 */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Workflow"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            409: components["responses"]["Error409"];
            413: components["responses"]["Error413"];
            415: components["responses"]["Error415"];
            default: components["responses"]["Error"];
        };
    };
    getWorkflow: {
        parameters: {
            query?: {
                /** @description an older version */
                version?: number;
            };
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the workflow */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Workflow"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            default: components["responses"]["Error"];
        };
    };
    updateWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WorkflowDefinition"];
                "application/yaml": string;
            };
        };
        responses: {
            /** @description the new version */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Workflow"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            409: components["responses"]["Error409"];
            415: components["responses"]["Error415"];
            422: components["responses"]["Error422"];
            default: components["responses"]["Error"];
        };
    };
    deleteWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            409: components["responses"]["Error409"];
            default: components["responses"]["Error"];
        };
    };
    pauseWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the workflow, paused */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Workflow"];
                };
            };
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            default: components["responses"]["Error"];
        };
    };
    resumeWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the workflow, running */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Workflow"];
                };
            };
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            default: components["responses"]["Error"];
        };
    };
    startRun: {
        parameters: {
            query?: {
                /** @description how long to wait for the run to end: milliseconds, or a duration (5s, 2m); at most 5m */
                wait?: string;
            };
            header?: never;
            path: {
                /** @description the workflow id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    /** @default {} */
                    input?: unknown;
                };
            };
        };
        responses: {
            /** @description the run, ended within ?wait= */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Run"];
                };
            };
            /** @description the run was started (and has not ended) */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunStarted"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            409: components["responses"]["Error409"];
            413: components["responses"]["Error413"];
            415: components["responses"]["Error415"];
            default: components["responses"]["Error"];
        };
    };
    listRuns: {
        parameters: {
            query?: {
                /** @description only runs of it */
                workflowId?: string;
                /** @description only runs in it */
                status?: "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";
                /** @description only runs created at or after this time: ISO 8601, or a duration back from now (24h) */
                since?: string;
                /** @description only runs created before this time: ISO 8601, or a duration back from now */
                until?: string;
                /** @description how many items a page holds */
                limit?: number;
                /** @description the `nextCursor` of the page before */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page of runs */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunPage"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            default: components["responses"]["Error"];
        };
    };
    getRun: {
        parameters: {
            query?: {
                /** @description how long to wait for the run to end: milliseconds, or a duration (5s, 2m); at most 5m */
                wait?: string;
            };
            header?: never;
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the run */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Run"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            default: components["responses"]["Error"];
        };
    };
    getRunLogs: {
        parameters: {
            query?: {
                /** @description only the lines of this step */
                stepId?: string;
                /** @description how many items a page holds */
                limit?: number;
                /** @description the `nextCursor` of the page before */
                cursor?: string;
            };
            header?: never;
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page of log lines */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LogPage"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            default: components["responses"]["Error"];
        };
    };
    getRunEvents: {
        parameters: {
            query?: never;
            header?: {
                /** @description the id of the last event received: resume after it (a fresh snapshot, then the log lines after it) */
                "Last-Event-ID"?: string;
            };
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description an event stream */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": string;
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            default: components["responses"]["Error"];
        };
    };
    cancelRun: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the run */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Run"];
                };
            };
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            409: components["responses"]["Error409"];
            default: components["responses"]["Error"];
        };
    };
    retryRun: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the run goes on */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunStarted"];
                };
            };
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            409: components["responses"]["Error409"];
            default: components["responses"]["Error"];
        };
    };
    signalRun: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the run id */
                id: string;
                /** @description the signal name */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    /** @default null */
                    data?: unknown;
                };
            };
        };
        responses: {
            /** @description the step that took it, or null when buffered */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignalTaken"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            409: components["responses"]["Error409"];
            default: components["responses"]["Error"];
        };
    };
    listStepItems: {
        parameters: {
            query?: {
                /** @description how many items a page holds */
                limit?: number;
                /** @description the `nextCursor` of the page before */
                cursor?: string;
            };
            header?: never;
            path: {
                /** @description the run id */
                id: string;
                /** @description a forEach step */
                stepId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page of items */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ItemPage"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            default: components["responses"]["Error"];
        };
    };
    broadcastSignal: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the signal name */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    key?: unknown;
                    /** @default null */
                    data?: unknown;
                };
            };
        };
        responses: {
            /** @description how many runs it reached */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Delivered"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            default: components["responses"]["Error"];
        };
    };
    runStats: {
        parameters: {
            query?: {
                /** @description runs created at or after this time: ISO 8601, or a duration back from now (default 24h) */
                since?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description one entry per workflow */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunStatsPage"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            default: components["responses"]["Error"];
        };
    };
    listPieces: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description every piece */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PiecePage"];
                };
            };
            401: components["responses"]["Error401"];
            default: components["responses"]["Error"];
        };
    };
    listSecrets: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description every secret */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SecretPage"];
                };
            };
            401: components["responses"]["Error401"];
            default: components["responses"]["Error"];
        };
    };
    putSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the secret name: 1-128 letters, digits, _ . - */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    value: string;
                };
            };
        };
        responses: {
            /** @description an existing secret was replaced */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Secret"];
                };
            };
            /** @description a new secret was stored */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Secret"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            409: components["responses"]["Error409"];
            413: components["responses"]["Error413"];
            415: components["responses"]["Error415"];
            default: components["responses"]["Error"];
        };
    };
    deleteSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the secret name: 1-128 letters, digits, _ . - */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            409: components["responses"]["Error409"];
            default: components["responses"]["Error"];
        };
    };
    signalLinkPage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the signed token of a $signalUrl link */
                token: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a confirmation page */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            403: components["responses"]["Error403"];
            404: components["responses"]["Error404"];
            409: components["responses"]["Error409"];
            default: components["responses"]["Error"];
        };
    };
    signalLinkDeliver: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the signed token of a $signalUrl link */
                token: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": unknown;
                "application/x-www-form-urlencoded": {
                    [key: string]: string;
                };
            };
        };
        responses: {
            /** @description delivered: the step that took it (a form post gets a page) */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignalTaken"];
                    "text/html": string;
                };
            };
            400: components["responses"]["Error400"];
            403: components["responses"]["Error403"];
            404: components["responses"]["Error404"];
            409: components["responses"]["Error409"];
            default: components["responses"]["Error"];
        };
    };
    hookGet: {
        parameters: {
            query?: never;
            header?: {
                /** @description Standard Webhooks: the message id; a second request with it is refused (409) */
                "webhook-id"?: string;
                /** @description Standard Webhooks: seconds since 1970, within webhooks.tolerance of now */
                "webhook-timestamp"?: string;
                /** @description Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"> */
                "webhook-signature"?: string;
                /** @description sha256=<lowercase hex HMAC-SHA256 of the raw body> */
                "x-piecework-signature"?: string;
            };
            path: {
                /** @description the trigger's path */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the run output (respond: onComplete) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description the run was started (respond: immediately), or is still going */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunStarted"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            405: components["responses"]["Error405"];
            409: components["responses"]["Error409"];
            413: components["responses"]["Error413"];
            /** @description the run failed or was cancelled (respond: onComplete) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: unknown;
                        runId: string;
                    };
                };
            };
            default: components["responses"]["Error"];
        };
    };
    hookPut: {
        parameters: {
            query?: never;
            header?: {
                /** @description Standard Webhooks: the message id; a second request with it is refused (409) */
                "webhook-id"?: string;
                /** @description Standard Webhooks: seconds since 1970, within webhooks.tolerance of now */
                "webhook-timestamp"?: string;
                /** @description Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"> */
                "webhook-signature"?: string;
                /** @description sha256=<lowercase hex HMAC-SHA256 of the raw body> */
                "x-piecework-signature"?: string;
            };
            path: {
                /** @description the trigger's path */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": unknown;
            };
        };
        responses: {
            /** @description the run output (respond: onComplete) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description the run was started (respond: immediately), or is still going */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunStarted"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            405: components["responses"]["Error405"];
            409: components["responses"]["Error409"];
            413: components["responses"]["Error413"];
            /** @description the run failed or was cancelled (respond: onComplete) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: unknown;
                        runId: string;
                    };
                };
            };
            default: components["responses"]["Error"];
        };
    };
    hookPost: {
        parameters: {
            query?: never;
            header?: {
                /** @description Standard Webhooks: the message id; a second request with it is refused (409) */
                "webhook-id"?: string;
                /** @description Standard Webhooks: seconds since 1970, within webhooks.tolerance of now */
                "webhook-timestamp"?: string;
                /** @description Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"> */
                "webhook-signature"?: string;
                /** @description sha256=<lowercase hex HMAC-SHA256 of the raw body> */
                "x-piecework-signature"?: string;
            };
            path: {
                /** @description the trigger's path */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": unknown;
            };
        };
        responses: {
            /** @description the run output (respond: onComplete) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description the run was started (respond: immediately), or is still going */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunStarted"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            405: components["responses"]["Error405"];
            409: components["responses"]["Error409"];
            413: components["responses"]["Error413"];
            /** @description the run failed or was cancelled (respond: onComplete) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: unknown;
                        runId: string;
                    };
                };
            };
            default: components["responses"]["Error"];
        };
    };
    hookDelete: {
        parameters: {
            query?: never;
            header?: {
                /** @description Standard Webhooks: the message id; a second request with it is refused (409) */
                "webhook-id"?: string;
                /** @description Standard Webhooks: seconds since 1970, within webhooks.tolerance of now */
                "webhook-timestamp"?: string;
                /** @description Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"> */
                "webhook-signature"?: string;
                /** @description sha256=<lowercase hex HMAC-SHA256 of the raw body> */
                "x-piecework-signature"?: string;
            };
            path: {
                /** @description the trigger's path */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the run output (respond: onComplete) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description the run was started (respond: immediately), or is still going */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunStarted"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            405: components["responses"]["Error405"];
            409: components["responses"]["Error409"];
            413: components["responses"]["Error413"];
            /** @description the run failed or was cancelled (respond: onComplete) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: unknown;
                        runId: string;
                    };
                };
            };
            default: components["responses"]["Error"];
        };
    };
    hookPatch: {
        parameters: {
            query?: never;
            header?: {
                /** @description Standard Webhooks: the message id; a second request with it is refused (409) */
                "webhook-id"?: string;
                /** @description Standard Webhooks: seconds since 1970, within webhooks.tolerance of now */
                "webhook-timestamp"?: string;
                /** @description Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"> */
                "webhook-signature"?: string;
                /** @description sha256=<lowercase hex HMAC-SHA256 of the raw body> */
                "x-piecework-signature"?: string;
            };
            path: {
                /** @description the trigger's path */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": unknown;
            };
        };
        responses: {
            /** @description the run output (respond: onComplete) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description the run was started (respond: immediately), or is still going */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunStarted"];
                };
            };
            400: components["responses"]["Error400"];
            401: components["responses"]["Error401"];
            404: components["responses"]["Error404"];
            405: components["responses"]["Error405"];
            409: components["responses"]["Error409"];
            413: components["responses"]["Error413"];
            /** @description the run failed or was cancelled (respond: onComplete) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: unknown;
                        runId: string;
                    };
                };
            };
            default: components["responses"]["Error"];
        };
    };
}
