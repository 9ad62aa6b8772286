package io.jseek.cli;

import io.jseek.model.hub.HubClient;
import io.jseek.model.hub.HubRef;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code -m MODEL} option every model command shares. */
final class ModelOption {
    @Option(names = {"-m", "--model"}, paramLabel = "MODEL",
            description = "GGUF model file (for a split model, its first shard), Hugging Face model directory, or "
                    + "hf:OWNER/REPO[:QUANT|:FILE] (fetched into the Hugging Face cache first, as 'jseek pull'). "
                    + "Default: the embedded test model.")
    String model;

    private Path resolved;

    /** The model path given (a Hub reference fetched once), or the embedded default. */
    Path resolve() {
        if (resolved == null) {
            resolved = model != null ? path(model) : DefaultModel.path();
        }
        return resolved;
    }

    /** A model argument as a local path: a Hub reference is pulled (or found in the cache) first. */
    static Path path(String model) {
        if (HubRef.isHubRef(model)) {
            PullCommand.announce(HubRef.parse(model));
        }
        return HubClient.localPath(model, new DownloadProgress(System.err));
    }
}
