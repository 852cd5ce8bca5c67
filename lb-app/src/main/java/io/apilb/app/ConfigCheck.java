package io.apilb.app;

import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.ConfigException;
import io.apilb.core.config.ConfigLoader;

import io.apilb.core.resource.DescriptorBudget;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code apilb check-config FILE}: loads a config file as start-up would, without starting
 * anything, and says whether it can be used. Prints {@code OK: <file>: N listeners, M backends,
 * balance X} and returns 0 (with a warning on {@code err} when {@code limits.maxConnections} does not
 * fit this process's open-files limit), or prints every error, one a line, and returns 1. Runs on the main
 * thread.
 */
final class ConfigCheck {
    private ConfigCheck() {
    }

    /** Checks {@code file}; the result is the process exit code. */
    static int run(Path file, PrintStream out, PrintStream err) {
        try {
            ApilbConfig config = ConfigLoader.load(file);
            out.printf("OK: %s: %d %s, %d %s, balance %s%n", file,
                    config.listeners().size(), plural(config.listeners().size(), "listener"),
                    config.backends().size(), plural(config.backends().size(), "backend"),
                    config.balance().name().toLowerCase(Locale.ROOT));
            DescriptorBudget.process().printWarning(config.limits().maxConnections(), err);
            return 0;
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 1;
        }
    }

    private static String plural(int n, String noun) {
        return n == 1 ? noun : noun + "s";
    }
}
