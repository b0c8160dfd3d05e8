import { render } from 'preact';

function App() {
  return (
    <main>
      <h1>Widemesh</h1>
    </main>
  );
}

render(<App />, document.getElementById('root')!);
