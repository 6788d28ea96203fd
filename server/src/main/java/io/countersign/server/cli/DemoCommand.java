package io.countersign.server.cli;

import io.countersign.server.demo.Demo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code countersign demo}: everything needed to try Countersign, with no setup. */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Starts an embedded PostgreSQL with a small 'shop' database and Countersign",
            "in front of it (agent demo-agent, password demo-agent-pw), prints how to",
            "connect, and runs until Ctrl-C. Listens on 127.0.0.1 only."
        })
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--pg-port", paramLabel = "N", defaultValue = "6543",
            description = "PostgreSQL listener port (default: ${DEFAULT-VALUE})")
    int pgPort;

    @Option(names = "--admin-port", paramLabel = "N", defaultValue = "8787",
            description = "admin HTTP port (default: ${DEFAULT-VALUE})")
    int adminPort;

    @Option(names = "--mysql-port", paramLabel = "N", defaultValue = "3307", description = "MySQL listener port, before an embedded MariaDB with the same shop data; -1 for none (default: ${DEFAULT-VALUE})")
    int mysqlPort;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "keep the embedded database here, across runs (default: a temporary directory, removed on exit)")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
        io.countersign.server.gate.StatementLog.enable();
        Demo demo = Demo.start(new Demo.Options(pgPort, adminPort, dataDir, mysqlPort));
        Thread hook = new Thread(demo::close, "countersign-demo-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.println(demo.instructions());
        System.out.flush();
        demo.awaitStop();
        return 0;
    }
}
