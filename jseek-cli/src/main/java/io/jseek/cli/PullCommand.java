package io.jseek.cli;

import io.jseek.model.hub.HubClient;
import io.jseek.model.hub.HubRef;
import io.jseek.model.hub.HubSettings;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jseek pull OWNER/REPO[:QUANT|:FILE]}: a model from the Hugging Face Hub into its shared cache. */
@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {"Download a model from the Hugging Face Hub into the Hugging Face cache (shared with its tools): "
                + "a GGUF quantization (OWNER/REPO:Q4_K_M, all parts of a split file), a file (OWNER/REPO:FILE), or "
                + "without a tag the safetensors model directory (or, in a GGUF-only repository, its Q4_K_M). Resumes "
                + "an interrupted download; checks every file against the Hub's sha256.",
            "Environment: HF_TOKEN (private and gated repositories), HF_HOME / HF_HUB_CACHE (cache location), "
                + "HF_ENDPOINT (a mirror), HF_HUB_OFFLINE=1 (cache only). Any command's -m takes hf:OWNER/REPO[:QUANT] too."})
final class PullCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OWNER/REPO[:QUANT|:FILE][@REVISION]")
    String ref;

    @Override
    public Integer call() {
        HubClient.Pulled p = pull(HubRef.parse(ref));
        spec.commandLine().getOut().println(p.path());
        return 0;
    }

    /** Pulls with the environment's settings and a progress bar on standard error. */
    static HubClient.Pulled pull(HubRef ref) {
        HubSettings settings = announce(ref);
        return new HubClient(settings).pull(ref, new DownloadProgress(System.err));
    }

    /** The environment's Hub settings, after a line on standard error saying where {@code ref} comes from and goes. */
    static HubSettings announce(HubRef ref) {
        HubSettings settings = HubSettings.fromEnvironment(System.getenv());
        System.err.println("jseek: " + ref + (settings.offline() ? " from the cache (offline)" : " from " + settings.endpoint())
                + " into " + settings.cache());
        return settings;
    }
}
