package io.jseek.model.hub;

import java.util.regex.Pattern;

/**
 * What to fetch from the Hub: {@code OWNER/REPO[:SELECTOR][@REVISION]}, optionally written {@code hf:…} (as
 * {@code -m} takes it) or {@code hf.co/…} (as Ollama takes it). The selector is a quantization tag
 * ({@code Q4_K_M}, {@code UD-IQ1_S}) or a file path in the repository ({@code model-Q8_0.gguf}); none means
 * the Hugging Face model directory (config, tokenizer, safetensors) or, in a repository of GGUF files only,
 * its Q4_K_M (llama.cpp's default).
 */
public record HubRef(String repo, String selector, String revision) {
    private static final Pattern REPO = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*");

    /** True for a model argument that names a Hub repository rather than a local path. */
    public static boolean isHubRef(String s) {
        return s.startsWith("hf:") || s.startsWith("hf.co/") || s.startsWith("huggingface.co/");
    }

    /** Parses a reference; throws IllegalArgumentException naming what is wrong. */
    public static HubRef parse(String s) {
        String t = s.strip();
        for (String prefix : new String[] {"hf:", "https://huggingface.co/", "huggingface.co/", "hf.co/"}) {
            if (t.startsWith(prefix)) {
                t = t.substring(prefix.length());
                break;
            }
        }
        String revision = "main";
        int at = t.lastIndexOf('@');
        if (at > 0) {
            revision = t.substring(at + 1);
            t = t.substring(0, at);
        }
        String selector = null;
        int colon = t.indexOf(':');
        if (colon > 0) {
            selector = t.substring(colon + 1);
            t = t.substring(0, colon);
        }
        if (!REPO.matcher(t).matches()) {
            throw new IllegalArgumentException("not a Hugging Face repository: '" + s + "' (expected OWNER/REPO[:QUANT|:FILE][@REVISION])");
        }
        if (revision.isEmpty() || revision.contains("..") || (selector != null && selector.isBlank())) {
            throw new IllegalArgumentException("bad Hugging Face reference: '" + s + "'");
        }
        return new HubRef(t, selector, revision);
    }

    /** The cache folder name Hugging Face's tools use: {@code models--OWNER--REPO}. */
    public String folderName() {
        return "models--" + repo.replace("/", "--");
    }

    @Override
    public String toString() {
        return repo + (selector == null ? "" : ":" + selector) + (revision.equals("main") ? "" : "@" + revision);
    }
}
