package io.jseek.engine;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import io.jseek.core.JseekException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A chat template in Jinja (as HF tokenizers ship them, e.g. GGUF's {@code tokenizer.chat_template} or a
 * {@code --chat-template} file), rendered with jinjava. The template gets {@code messages},
 * {@code add_generation_prompt}, {@code bos_token} and {@code eos_token}.
 */
public record JinjaChatFormat(String source, String template, String bosToken, String eosToken) implements ChatFormat {

    @Override
    public String render(List<ChatMessage> messages, boolean addAssistant) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (ChatMessage m : messages) {
            list.add(Map.of("role", m.role(), "content", m.content()));
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", list);
        context.put("add_generation_prompt", addAssistant);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        Jinjava jinja = new Jinjava(JinjavaConfig.newBuilder().withFailOnUnknownTokens(false).build());
        RenderResult r = jinja.renderForResult(template, context);
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new JseekException(source + ": chat template error: " + e.getMessage()
                        + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : ""));
            }
        }
        return r.getOutput();
    }

    @Override
    public String name() {
        return "jinja (" + source + ")";
    }

    @Override
    public boolean isComplete() {
        return true;
    }
}
