package io.jseek.engine;

import java.util.List;

/**
 * Built-in chat formats, recognised from the model's {@code tokenizer.chat_template} the way llama.cpp
 * recognises them (by marker substrings; the Jinja template itself is not run), and rendered as
 * llama.cpp's {@code llama_chat_apply_template} renders them. The text carries no BOS: the tokenizer adds
 * it.
 */
public enum ChatTemplate implements ChatFormat {
    /** DeepSeek-V3 / R1 and the R1 distills: {@code system\n\n<｜User｜>u<｜Assistant｜>a<｜end▁of▁sentence｜>}. */
    DEEPSEEK3,
    /** DeepSeek-V2 / V2-Lite: {@code system\n\nUser: u\n\nAssistant: a<｜end▁of▁sentence｜>}. */
    DEEPSEEK2,
    /** ChatML (Qwen2 instruct): {@code <|im_start|>role\ncontent<|im_end|>\n}. */
    CHATML,
    /** Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}. */
    LLAMA3;

    private static final String USER = "<｜User｜>";
    private static final String ASSISTANT = "<｜Assistant｜>";
    private static final String EOS = "<｜end▁of▁sentence｜>";

    /** The built-in format a Jinja chat template stands for, or null if it is none of them. */
    public static ChatTemplate detect(String jinja) {
        if (jinja == null) {
            return null;
        }
        if (jinja.contains(USER) && jinja.contains(ASSISTANT)) {
            return DEEPSEEK3;
        }
        if (jinja.contains("'Assistant: ' + message['content'] + eos_token")) {
            return DEEPSEEK2;
        }
        if (jinja.contains("<|im_start|>")) {
            return CHATML;
        }
        if (jinja.contains("<|start_header_id|>")) {
            return LLAMA3;
        }
        return null;
    }

    @Override
    public boolean isComplete() {
        return false;
    }

    /** Renders the conversation; with {@code addAssistant} it ends ready for the assistant's reply. */
    @Override
    public String render(List<ChatMessage> messages, boolean addAssistant) {
        StringBuilder sb = new StringBuilder();
        switch (this) {
            case DEEPSEEK3 -> {
                for (ChatMessage m : messages) {
                    switch (m.role()) {
                        case "system" -> sb.append(m.content()).append("\n\n");
                        case "user" -> sb.append(USER).append(m.content());
                        default -> sb.append(ASSISTANT).append(m.content()).append(EOS);
                    }
                }
                if (addAssistant) {
                    sb.append(ASSISTANT);
                }
            }
            case DEEPSEEK2 -> {
                for (ChatMessage m : messages) {
                    switch (m.role()) {
                        case "system" -> sb.append(m.content()).append("\n\n");
                        case "user" -> sb.append("User: ").append(m.content()).append("\n\n");
                        default -> sb.append("Assistant: ").append(m.content()).append(EOS);
                    }
                }
                if (addAssistant) {
                    sb.append("Assistant:");
                }
            }
            case CHATML -> {
                for (ChatMessage m : messages) {
                    sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
                }
                if (addAssistant) {
                    sb.append("<|im_start|>assistant\n");
                }
            }
            case LLAMA3 -> {
                for (ChatMessage m : messages) {
                    sb.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
                            .append(m.content().strip()).append("<|eot_id|>");
                }
                if (addAssistant) {
                    sb.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                }
            }
        }
        return sb.toString();
    }
}
