package io.jseek.cli;

import io.jseek.model.hub.FileSelection;
import io.jseek.model.hub.HubCache;
import io.jseek.model.hub.HubRef;
import io.jseek.model.hub.HubSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jseek list} and {@code jseek rm}: the models in the Hugging Face cache. */
final class CacheCommands {
    private CacheCommands() {
    }

    private static HubCache cache() {
        return new HubCache(HubSettings.fromEnvironment(System.getenv()).cache());
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the models in the Hugging Face cache (HF_HOME / HF_HUB_CACHE) with their files and size.")
    static final class ListCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            HubCache cache = cache();
            List<HubCache.Entry> entries = cache.list();
            if (entries.isEmpty()) {
                out.println("no models in " + cache.root());
                return 0;
            }
            for (HubCache.Entry e : entries) {
                out.printf("%-50s %10s  %s%n", e.repo(), InfoCommand.bytes(e.bytes()), String.join(", ", e.revisions()));
                for (String f : e.files()) {
                    out.println("    " + f);
                }
            }
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Remove a model from the Hugging Face cache: OWNER/REPO removes all of it, OWNER/REPO:QUANT or :FILE those files.")
    static final class RmCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "OWNER/REPO[:QUANT|:FILE]")
        String ref;

        @Override
        public Integer call() throws IOException {
            HubRef r = HubRef.parse(ref);
            HubCache cache = cache();
            List<String> files = null;
            if (r.selector() != null) {
                List<String> present = cache.list().stream().filter(e -> e.repo().equals(r.repo())).findFirst()
                        .map(HubCache.Entry::files).orElse(List.of());
                files = FileSelection.select(r.repo(), present, r.selector()).files();
            }
            long freed = cache.remove(r.repo(), files);
            spec.commandLine().getOut().println("removed " + (files == null ? r.repo() : String.join(", ", files)) + " ("
                    + InfoCommand.bytes(freed) + " freed)");
            return 0;
        }
    }
}
