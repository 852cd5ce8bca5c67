package io.apilb.app;

import io.apilb.app.demo.Demo;
import io.apilb.app.demo.DemoCluster;
import io.apilb.core.config.AdminConfig;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.ConfigException;
import io.apilb.core.config.ConfigLoader;
import io.apilb.core.config.HostPort;

import io.netty.util.ResourceLeakDetector;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import sun.misc.Signal;

/**
 * Command line: {@code apilb --config FILE} runs the balancer, {@code apilb check-config FILE}
 * validates a file, {@code apilb} alone (or {@code apilb demo}) runs the demo. SIGTERM and SIGINT
 * shut down gracefully and exit 0; a second one during that stop exits 0 at once.
 */
public final class Main {
    static final String USAGE = """
            usage: apilb [--config FILE]            run the balancer (no config: the demo)
                   apilb check-config FILE          validate a config file and exit 0 (valid) or 1
                   apilb demo [--listen HOST:PORT] [--admin HOST:PORT]
                                                    three local TLS masters behind the balancer
                   apilb --help | --version
            """;

    private Main() {
    }

    public static void main(String[] args) {
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            // Leak tracking samples buffers on the hot path; the test suite runs it at paranoid instead.
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        int code = run(args, System.out, System.err);
        LogSetup.stop();
        System.exit(code);
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            return demo(Demo.DEFAULT_LISTEN, AdminConfig.DEFAULT_ADDRESS, out, err);
        }
        switch (args[0]) {
            case "-h", "--help", "help" -> {
                out.print(USAGE);
                return 0;
            }
            case "--version", "version" -> {
                out.println("apilb " + version());
                return 0;
            }
            case "check-config" -> {
                if (args.length != 2) {
                    err.print(USAGE);
                    return 2;
                }
                return ConfigCheck.run(Path.of(args[1]), out, err);
            }
            case "-c", "--config" -> {
                if (args.length != 2) {
                    err.print(USAGE);
                    return 2;
                }
                return serve(Path.of(args[1]), err);
            }
            case "demo" -> {
                HostPort listen = Demo.DEFAULT_LISTEN;
                HostPort admin = AdminConfig.DEFAULT_ADDRESS;
                try {
                    for (int i = 1; i < args.length; i += 2) {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException(args[i] + " needs a value");
                        }
                        switch (args[i]) {
                            case "--listen" -> listen = HostPort.parse(args[i + 1], true);
                            case "--admin" -> admin = HostPort.parse(args[i + 1], true);
                            default -> throw new IllegalArgumentException("unknown option " + args[i]);
                        }
                    }
                } catch (IllegalArgumentException e) {
                    err.println("apilb demo: " + e.getMessage());
                    err.print(USAGE);
                    return 2;
                }
                return demo(listen, admin, out, err);
            }
            default -> {
                err.println("apilb: unknown argument '" + args[0] + "'");
                err.print(USAGE);
                return 2;
            }
        }
    }

    private static int serve(Path file, PrintStream err) {
        if (!Files.isRegularFile(file)) {
            err.println("apilb: config file " + file + " not found");
            return 1;
        }
        ApilbConfig config;
        try {
            config = ConfigLoader.load(file);
        } catch (ConfigException e) {
            err.println("apilb: refusing to start: " + e.getMessage());
            return 1;
        }
        LogSetup.apply(config.logging());
        // Handlers first: a SIGTERM that arrives while starting must still end in a graceful stop.
        CountDownLatch stop = stopOnSignals();
        AtomicReference<ApilbRuntime> running = new AtomicReference<>();
        // Listeners bind before start() returns, so a SIGHUP can come while starting: keep it for later.
        AtomicBoolean reloadPending = new AtomicBoolean();
        Runnable reloadIfRunning = () -> {
            ApilbRuntime r = running.get();
            if (r != null && reloadPending.getAndSet(false)) {
                r.reloadInBackground();
            }
        };
        onSignal("HUP", () -> {
            reloadPending.set(true);
            reloadIfRunning.run();
        });
        ApilbRuntime rt;
        try {
            rt = ApilbRuntime.start(config, file);
        } catch (Exception e) {
            err.println("apilb: cannot start: " + e.getMessage());
            return 1;
        }
        running.set(rt);
        reloadIfRunning.run();
        await(stop);
        rt.shutdown();
        return 0;
    }

    private static int demo(HostPort listen, HostPort admin, PrintStream out, PrintStream err) {
        CountDownLatch stop = stopOnSignals();
        DemoCluster cluster;
        try {
            cluster = DemoCluster.launch(3);
        } catch (Exception e) {
            err.println("apilb demo: cannot start the demo masters: " + e);
            return 1;
        }
        ApilbRuntime rt;
        try {
            ApilbConfig config = Demo.config(cluster, listen, admin);
            LogSetup.apply(config.logging());
            rt = ApilbRuntime.start(config);
        } catch (Exception e) {
            cluster.close();
            err.println("apilb demo: cannot start: " + e.getMessage());
            return 1;
        }
        java.net.InetSocketAddress adminBound = rt.adminAddress();
        out.print(Demo.banner(cluster, HostPort.of(rt.listenerAddresses().get(0)),
                adminBound == null ? admin : HostPort.of(adminBound), adminBound != null));
        out.flush();
        Demo.console(cluster, System.in, out);
        await(stop);
        rt.shutdown();
        cluster.close();
        return 0;
    }

    /** Runs {@code action} on each delivery of a signal, where the platform has that signal. */
    private static void onSignal(String name, Runnable action) {
        Logger log = LoggerFactory.getLogger(Main.class);
        try {
            Signal.handle(new Signal(name), s -> {
                log.info("received SIG{}", s.getName());
                action.run();
            });
        } catch (IllegalArgumentException e) {
            log.debug("signal {} not available here", name);
        }
    }

    /**
     * A latch that SIGTERM or SIGINT opens. A second one, while the graceful stop runs, ends the
     * process at once with code 0: the operator has decided not to wait for the rest of
     * {@code shutdownDelay} and {@code shutdownGrace}, and open connections are cut.
     */
    private static CountDownLatch stopOnSignals() {
        CountDownLatch stop = new CountDownLatch(1);
        AtomicBoolean stopping = new AtomicBoolean();
        Runnable onStop = () -> {
            if (stopping.getAndSet(true)) {
                exitNow();
            }
            stop.countDown();
        };
        onSignal("TERM", onStop);
        onSignal("INT", onStop);
        return stop;
    }

    /** Runs on the signal's thread while the main thread may still be waiting in the graceful stop. */
    private static void exitNow() {
        LoggerFactory.getLogger(Main.class).warn(
                "second stop signal: skipping the rest of the graceful stop, exiting now; open connections are cut");
        LogSetup.stop();
        // halt, not exit: nothing that is still running deserves a wait, and the main thread's own
        // System.exit must not race this one.
        Runtime.getRuntime().halt(0);
    }

    /** Blocks the main thread until the latch opens. */
    private static void await(CountDownLatch stop) {
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
