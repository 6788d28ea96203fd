package io.countersign.server.cli;

import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import io.countersign.server.runtime.CountersignServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code countersign serve --config FILE}: runs the proxy until SIGTERM or Ctrl-C. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Runs Countersign with the listeners, backends and agents of a YAML config file,",
            "until SIGTERM or Ctrl-C. Exits 1 with the reason when the config is invalid."
        })
public final class ServeCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
            description = "the YAML config file (see docker/countersign.example.yaml)")
    Path config;

    @Option(names = "--check", description = "only load and check the config, then exit (0 when it is valid)")
    boolean checkOnly;

    @Option(names = "--log-statements", description = "also write one JSON line per statement to stdout (the audit is the durable record)")
    boolean logStatements;

    @Override
    public Integer call() throws Exception {
        CountersignConfig cfg = ConfigLoader.load(config);
        if (checkOnly) {
            System.out.println(config + ": ok (" + cfg.backends().size() + " backend(s), " + cfg.agents().size() + " agent(s))");
            return 0;
        }
        if (logStatements) {
            io.countersign.server.gate.StatementLog.enable();
        }
        CountersignServer server = CountersignServer.of(cfg);
        Thread hook = new Thread(server::close, "countersign-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            server.start();
        } catch (Exception e) {
            Runtime.getRuntime().removeShutdownHook(hook);
            throw e;
        }
        server.awaitStop();
        return 0;
    }
}
