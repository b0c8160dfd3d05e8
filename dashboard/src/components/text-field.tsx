interface TextFieldProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  required?: boolean;
  placeholder?: string;
  /** Takes the room left in its row. */
  grow?: boolean;
}

/** A labelled one-line input for names and values: no autofill, no spell check. */
export function TextField({ id, label, value, onChange, required, placeholder, grow }: TextFieldProps) {
  return (
    <div class={grow ? 'field grow' : 'field'}>
      <label for={id}>{label}</label>
      <input
        id={id}
        required={required}
        autoComplete="off"
        spellcheck={false}
        placeholder={placeholder}
        value={value}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    </div>
  );
}
