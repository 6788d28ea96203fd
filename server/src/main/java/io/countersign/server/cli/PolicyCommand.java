package io.countersign.server.cli;

import io.countersign.analysis.AnalysisResult;
import io.countersign.analysis.Dialect;
import io.countersign.analysis.SqlAnalyzer;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.approvals.policy.PolicyCheck;
import io.countersign.approvals.policy.PolicyEngine;
import io.countersign.approvals.policy.StatementFacts;
import io.countersign.server.config.AgentConfig;
import io.countersign.server.config.BackendConfig;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code countersign policy check}: what the analysis and the policy make of a statement, offline. */
@Command(
        name = "policy",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Tools for people writing approval policies.",
        subcommands = {PolicyCommand.Check.class, CommandLine.HelpCommand.class})
public final class PolicyCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * Runs the analysis with an empty catalog: Countersign does not connect to any database here.
     * The lexer and parser layers see everything written in the statement (tables, named columns,
     * functions, GRANT, COPY, DROP ...); what only a live catalog or the backend's EXPLAIN can tell
     * (the columns behind {@code *}, row estimates for EXPORT, views, objects outside {@code public})
     * is not seen, and the output says so.
     */
    @Command(
            name = "check",
            mixinStandardHelpOptions = true,
            versionProvider = VersionProvider.class,
            description = {
                "Prints the analysis and the policy decision for a statement, without a database.",
                "Uses the config's analysis settings (sensitive-columns ...) and its policy (policy.file or the shipped default).",
                "No catalog is read: columns behind *, row counts (large-table EXPORT) and views are not visible here;",
                "the running proxy sees them and may decide more strictly."
            })
    public static final class Check implements Callable<Integer> {

        @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "the YAML config file")
        Path config;

        @Option(names = "--sql", required = true, paramLabel = "SQL", description = "the statement(s) to check")
        String sql;

        @Option(names = "--agent", paramLabel = "NAME", description = "the agent sending it (default: the config's only agent)")
        String agent;

        @Option(names = "--database", paramLabel = "BACKEND", description = "the backend it is sent to (default: the agent's first backend)")
        String database;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            CountersignConfig cfg = ConfigLoader.load(config);
            AgentConfig a = pickAgent(cfg);
            String db = pickDatabase(cfg, a);
            PolicyEngine policy = cfg.policy().file() != null ? PolicyEngine.load(Path.of(cfg.policy().file())) : PolicyEngine.defaultPolicy();
            SqlAnalyzer analyzer = new SqlAnalyzer(cfg.analysis().analyzerConfig());
            AnalysisResult result = analyzer.analyze(sql, Dialect.POSTGRESQL, Catalog.empty(Dialect.POSTGRESQL));
            StatementFacts facts = new StatementFacts(a.name(), Set.copyOf(a.groups()), a.owner(), db, result.statements());
            PrintWriter out = spec.commandLine().getOut();
            out.print(PolicyCheck.render(policy, facts));
            out.println();
            out.println("note: checked without a catalog (no database was contacted): columns behind *, row estimates,");
            out.println("      views and objects outside the search path are not visible here; the proxy sees them.");
            if (result.needsExplain()) {
                out.println("note: the proxy would also ask the backend's EXPLAIN about this statement before deciding.");
            }
            out.flush();
            return 0;
        }

        private AgentConfig pickAgent(CountersignConfig cfg) {
            if (agent != null) {
                AgentConfig a = cfg.agent(agent);
                if (a == null) {
                    throw new IllegalArgumentException("no agent '" + agent + "' in " + config + "; agents there: "
                            + String.join(", ", cfg.agents().stream().map(AgentConfig::name).toList()));
                }
                return a;
            }
            if (cfg.agents().size() != 1) {
                throw new IllegalArgumentException(config + " has " + cfg.agents().size()
                        + " agents; name the one sending the statement with --agent NAME");
            }
            return cfg.agents().get(0);
        }

        private String pickDatabase(CountersignConfig cfg, AgentConfig a) {
            if (database != null) {
                if (cfg.backend(database) == null) {
                    throw new IllegalArgumentException("no backend '" + database + "' in " + config + "; backends there: "
                            + String.join(", ", cfg.backends().stream().map(BackendConfig::name).toList()));
                }
                if (!a.mayReach(database)) {
                    throw new IllegalArgumentException("agent '" + a.name() + "' may not reach backend '" + database
                            + "' (its backends: " + String.join(", ", a.backends()) + ")");
                }
                return database;
            }
            return a.backends().isEmpty() || a.backends().get(0).equals("*") ? cfg.backends().get(0).name() : a.backends().get(0);
        }
    }
}
