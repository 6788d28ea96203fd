package io.countersign.server.cli;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Grant;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.client.ApprovalsRendering;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code countersign approvals list|show|approve|deny|grant|grants|revoke}: a reviewer's tools over the REST API. */
@Command(
        name = "approvals",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Review held statements through Countersign's REST API (the admin port).",
            "Authenticate with a reviewer token: --token TOKEN or the environment variable COUNTERSIGN_TOKEN."
        },
        subcommands = {
            ApprovalsCommand.ListRequests.class, ApprovalsCommand.Show.class, ApprovalsCommand.Approve.class,
            ApprovalsCommand.Deny.class, ApprovalsCommand.GrantShape.class, ApprovalsCommand.Grants.class,
            ApprovalsCommand.Revoke.class, CommandLine.HelpCommand.class
        })
public final class ApprovalsCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The parts every subcommand has: the API options and the output. */
    abstract static class Sub implements Callable<Integer> {
        @Mixin
        ApprovalsOptions api;

        @Spec
        CommandSpec spec;

        void print(String text) {
            PrintWriter out = spec.commandLine().getOut();
            out.print(text.endsWith("\n") ? text : text + "\n");
            out.flush();
        }

        void printRequest(ApprovalRequest r) {
            print(api.json ? ApprovalsRendering.requestJson(r) : ApprovalsRendering.requestDetail(r));
        }

        void printGrants(List<Grant> grants) {
            print(api.json ? ApprovalsRendering.grantsJson(grants) : ApprovalsRendering.grantsTable(grants, Instant.now()));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = "Lists requests (pending ones by default).")
    static final class ListRequests extends Sub {
        @Option(names = "--state", paramLabel = "STATE", defaultValue = "pending",
                description = "pending, approved, denied, expired, withdrawn, executed, abandoned or all (default: ${DEFAULT-VALUE})")
        String state;

        @Option(names = "--agent", paramLabel = "NAME", description = "only this agent's requests")
        String agent;

        @Option(names = "--limit", paramLabel = "N", defaultValue = "50", description = "at most N requests (default: ${DEFAULT-VALUE})")
        int limit;

        @Override
        public Integer call() {
            if (limit < 1) {
                throw new IllegalArgumentException("--limit " + limit + " is too small; expected at least 1");
            }
            List<ApprovalRequest> requests = api.client().list(parseState(state), agent, limit);
            print(api.json ? ApprovalsRendering.requestsJson(requests) : ApprovalsRendering.requestsTable(requests, Instant.now()));
            return 0;
        }

        static RequestState parseState(String s) {
            if (s.equalsIgnoreCase("all")) {
                return null;
            }
            try {
                return RequestState.valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--state '" + s + "' is not a request state; expected all or one of "
                        + String.join(", ", Arrays.stream(RequestState.values()).map(v -> v.name().toLowerCase(Locale.ROOT)).toList()));
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = "Shows one request: SQL, parameters, reasons, decisions.")
    static final class Show extends Sub {
        @Parameters(paramLabel = "REQUEST_ID", description = "the request id (as in the held notice)")
        String id;

        @Override
        public Integer call() {
            printRequest(api.client().show(id));
            return 0;
        }
    }

    @Command(name = "approve", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = "Approves a pending request as the token's reviewer.")
    static final class Approve extends Sub {
        @Parameters(paramLabel = "REQUEST_ID", description = "the request id")
        String id;

        @Option(names = {"-m", "--comment"}, paramLabel = "TEXT", description = "why (optional)")
        String comment;

        @Override
        public Integer call() {
            printRequest(api.client().approve(id, comment));
            return 0;
        }
    }

    @Command(name = "deny", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = "Denies a pending request; the agent reads the comment.")
    static final class Deny extends Sub {
        @Parameters(paramLabel = "REQUEST_ID", description = "the request id")
        String id;

        @Option(names = {"-m", "--comment"}, required = true, paramLabel = "TEXT", description = "the reason the agent is told (required)")
        String comment;

        @Override
        public Integer call() {
            if (comment.isBlank()) {
                throw new IllegalArgumentException("--comment is empty; a denial needs a reason the agent can read");
            }
            printRequest(api.client().deny(id, comment));
            return 0;
        }
    }

    @Command(name = "grant", mixinStandardHelpOptions = true,
            description = "Grants the request's statement shape to its agent for some hours (and approves the request).")
    static final class GrantShape extends Sub {
        @Parameters(paramLabel = "REQUEST_ID", description = "the request whose statement shape is granted")
        String id;

        @Option(names = "--hours", paramLabel = "H", defaultValue = "1", description = "how long the grant lasts (default: ${DEFAULT-VALUE})")
        double hours;

        @Override
        public Integer call() {
            if (!(hours > 0)) {
                throw new IllegalArgumentException("--hours " + hours + " is not positive; expected e.g. --hours 4");
            }
            printGrants(List.of(api.client().grant(id, hours)));
            return 0;
        }
    }

    @Command(name = "grants", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = "Lists grants (active ones unless --all).")
    static final class Grants extends Sub {
        @Option(names = "--all", description = "include expired and revoked grants")
        boolean all;

        @Override
        public Integer call() {
            printGrants(api.client().grants(!all));
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = "Revokes a grant.")
    static final class Revoke extends Sub {
        @Parameters(paramLabel = "GRANT_ID", description = "the grant id (see 'approvals grants')")
        String id;

        @Override
        public Integer call() {
            printGrants(List.of(api.client().revoke(id)));
            return 0;
        }
    }
}
