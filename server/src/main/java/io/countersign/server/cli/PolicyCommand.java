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
import io.countersign.analysis.catalog.CatalogLoader;
import io.countersign.server.pipeline.BackendAnalysis;
import io.countersign.server.pipeline.Pipeline;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.sql.SQLException;
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
     * By default runs the analysis with an empty catalog: no database is contacted. The lexer layer
     * still sees what is written (GRANT, SET ROLE, DROP, COPY, dangerous functions), but no table
     * resolves, so every statement naming a table is UNANALYSABLE (the proxy would ask EXPLAIN) and
     * gets the policy's fail-closed decision; the output says so. {@code --live} reads the
     * backend's catalog and runs its EXPLAIN over Countersign's own connection, read-only, exactly
     * as the proxy does, so the decision is the one the proxy would take.
     */
    @Command(
            name = "check",
            mixinStandardHelpOptions = true,
            versionProvider = VersionProvider.class,
            description = {
                "Prints the analysis and the policy decision for a statement, without a database.",
                "Uses the config's analysis settings (sensitive-columns ...) and its policy (policy.file or the shipped default).",
                "Without --live no database is contacted: tables cannot be resolved, so statements naming tables come out",
                "UNANALYSABLE (held, fail closed) while GRANT, SET ROLE, DROP, COPY and functions are still recognised.",
                "With --live the backend's catalog and EXPLAIN are used, as the proxy uses them."
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

        @Option(names = "--live", description = "read the backend's catalog and use its EXPLAIN (connects with the config's backend credentials)")
        boolean live;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            CountersignConfig cfg = ConfigLoader.load(config);
            AgentConfig a = pickAgent(cfg);
            String db = pickDatabase(cfg, a);
            PolicyEngine policy = cfg.policy().file() != null ? PolicyEngine.load(Path.of(cfg.policy().file())) : PolicyEngine.defaultPolicy();
            SqlAnalyzer analyzer = new SqlAnalyzer(cfg.analysis().analyzerConfig());
            AnalysisResult result;
            if (live) {
                try (Pipeline pipeline = new Pipeline(cfg, new SimpleMeterRegistry())) {
                    BackendAnalysis backend = pipeline.backend(db);
                    Catalog catalog = CatalogLoader.of(Dialect.POSTGRESQL, backend::sideConnection).load();
                    result = analyzer.analyzeWithExplain(sql, Dialect.POSTGRESQL, catalog, backend::sideConnection, Runnable::run).join();
                } catch (SQLException e) {
                    throw new IllegalStateException("--live: cannot read the catalog of backend '" + db + "': " + e.getMessage()
                            + "; check the backend's host, port and credentials in " + config + " or leave out --live", e);
                }
            } else {
                result = analyzer.analyze(sql, Dialect.POSTGRESQL, Catalog.empty(Dialect.POSTGRESQL));
            }
            StatementFacts facts = new StatementFacts(a.name(), Set.copyOf(a.groups()), a.owner(), db, result.statements());
            PrintWriter out = spec.commandLine().getOut();
            out.print(PolicyCheck.render(policy, facts));
            out.println();
            if (live) {
                out.println("note: checked against the live catalog of backend '" + db + "' and its EXPLAIN, as the proxy does.");
            } else {
                out.println("note: checked without a catalog (no database was contacted): tables, columns behind *, row estimates");
                out.println("      and views are unknown, so a statement naming a table shows as UNANALYSABLE; run with --live");
                out.println("      to see what the proxy would decide with the backend's catalog.");
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
