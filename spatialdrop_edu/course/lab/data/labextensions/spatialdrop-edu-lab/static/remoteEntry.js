// The course's JupyterLab extension (spatialdrop_edu/course/lab/start.py), written by hand: no build step, no imports.
//
// A notebook is marked modified (the tab's dot, "Save changes?" on closing, autosave) only when its content differs
// from what was last loaded or saved. The widget manager (@jupyter-widgets/jupyterlab-manager) marks a notebook
// modified whenever it registers a widget model and the setting saveState is on: so every notebook with stored
// widgets was "modified" as soon as it was opened, and again after every kernel restart, though nothing in it had
// changed. This plugin takes such a mark back when the notebook's content is still what the file holds.
//
// JupyterLab loads a federated extension by running this file and asking the container it registers under
// window._JUPYTERLAB for the module "./extension"; the module's default export is the plugin.
(function () {
  "use strict";
  var NAME = "spatialdrop-edu-lab";

  function content(model) {
    return JSON.stringify(model.toJSON());
  }

  function keepCleanWhileUnchanged(panel, context) {
    var onDisk = null; // the notebook's content as last loaded or saved
    function remember() {
      onDisk = content(context.model);
    }
    context.ready.then(remember);
    context.fileChanged.connect(remember); // after a save or a revert
    context.model.stateChanged.connect(function (model, change) {
      if (change.name !== "dirty" || !change.newValue) {
        return;
      }
      // after the signal has reached every other listener
      setTimeout(function () {
        if (model.dirty && onDisk !== null && !model.isDisposed && content(model) === onDisk) {
          model.dirty = false;
        }
      }, 0);
    });
  }

  var plugin = {
    id: NAME + ":modified-means-changed",
    description: "Marks a notebook modified only when its content differs from what was last loaded or saved.",
    autoStart: true,
    activate: function (app) {
      app.docRegistry.addWidgetExtension("Notebook", { createNew: keepCleanWhileUnchanged });
    },
  };

  var containers = (window._JUPYTERLAB = window._JUPYTERLAB || {});
  containers[NAME] = {
    init: function () {
      return Promise.resolve();
    },
    get: function (module) {
      if (module !== "./extension") {
        return Promise.reject(new Error(NAME + " has no module " + module));
      }
      return Promise.resolve(function () {
        return { __esModule: true, default: plugin };
      });
    },
  };
})();
